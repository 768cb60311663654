import { StoreUnavailableError } from './errors';
import { logger } from './telemetry';

/**
 * Keeps the log readable through a store outage: the first failed request logs its whole error
 * (stack and cause), the ones after it only the messages, and the first success after it says how
 * many failed. Other errors are always logged whole.
 */
export class OutageLog {
  #failedRequests = 0;
  #since = 0;

  /** The error as the request's log line should carry it. */
  describe(error: unknown): unknown {
    if (!(error instanceof StoreUnavailableError)) return error;
    this.#failedRequests += 1;
    if (this.#failedRequests === 1) {
      this.#since = Date.now();
      return error;
    }
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    return { name: error.name, message: error.message, ...(cause ? { cause } : {}) };
  }

  /** Called after a request the store answered. */
  recovered(): void {
    if (this.#failedRequests === 0) return;
    logger.info('store available again', { failedRequests: this.#failedRequests, outageMs: Date.now() - this.#since });
    this.#failedRequests = 0;
  }
}
