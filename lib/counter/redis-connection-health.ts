import { StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import { isReplyError } from './redis-reply-errors';

/** One warning when connections start failing and one line when one works again, not one per attempt. */
export class ConnectionHealth {
  #failing = false;
  #everReady = false;

  constructor(readonly url: string) {}

  failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    if (error instanceof StoreUnavailableError && isReplyError(error.cause)) {
      // Redis answered, and refused: its reason, not "unreachable" and no TLS hint, is what helps.
      logger.warn(error.message, { url: this.url, error: error.cause });
      return;
    }
    const hint = this.url.startsWith('redis://')
      ? { hint: 'if the server requires TLS (ElastiCache does), use rediss://' }
      : {};
    logger.warn(this.#everReady ? 'Redis connection lost' : 'Redis unreachable', { url: this.url, error, ...hint });
  }

  ready(): void {
    if (this.#everReady && !this.#failing) return;
    logger.info(this.#everReady ? 'Redis connection ready again' : 'Redis connection ready', { url: this.url });
    this.#everReady = true;
    this.#failing = false;
  }
}
