import { Redis, type RedisOptions, type Result } from 'ioredis';
import { redactUrl } from '../config';
import { StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import type { CounterStore } from './counter-store';

/**
 * INCR creates a missing key (with no expiry), so the check and the increment must be one step:
 * Redis runs a script without interleaving other commands. INCR keeps the key's expiry.
 * PTTL is -2 for a missing key and -1 for one without expiry; neither may count.
 */
export const INCREMENT_WHILE_OPEN = `
if redis.call('PTTL', KEYS[1]) > 0 then
  return redis.call('INCR', KEYS[1])
end
return false
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    incrementWhileOpen(key: string): Result<number | null, Context>;
  }
}

/**
 * Fail fast instead of waiting through ioredis's 20 reconnects: a request gets its answer (or a
 * 503) within about one timeout, and the client keeps reconnecting in the background.
 */
export function redisOptions(timeoutMs: number): RedisOptions {
  return {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    // Lets the first command after start or a reconnect wait for the connection instead of failing.
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(attempt * 50, 200),
  };
}

export class RedisCounterStore implements CounterStore {
  readonly #client: Redis;
  readonly #ownsClient: boolean;

  /** Uses `client` as given (and leaves closing it to its owner), or connects to `url`. */
  constructor(target: { client: Redis } | { url: string; timeoutMs: number }) {
    if ('client' in target) {
      this.#client = target.client;
      this.#ownsClient = false;
    } else {
      this.#client = new Redis(target.url, redisOptions(target.timeoutMs));
      this.#ownsClient = true;
      reportConnectionState(this.#client, redactUrl(target.url));
    }
    this.#client.defineCommand('incrementWhileOpen', { numberOfKeys: 1, lua: INCREMENT_WHILE_OPEN });
  }

  async start(key: string, windowMs: number): Promise<number> {
    try {
      await this.#client.set(key, 1, 'PX', windowMs);
      return 1;
    } catch (error) {
      throw new StoreUnavailableError('Redis SET failed', { cause: error });
    }
  }

  async increment(key: string): Promise<number | null> {
    try {
      return await this.#client.incrementWhileOpen(key);
    } catch (error) {
      throw new StoreUnavailableError('Redis increment failed', { cause: error });
    }
  }

  async ping(): Promise<void> {
    try {
      await this.#client.ping();
    } catch (error) {
      throw new StoreUnavailableError('Redis PING failed', { cause: error });
    }
  }

  /** Closes the connection if this store opened it. */
  async close(): Promise<void> {
    if (this.#ownsClient) await this.#client.quit().catch(() => this.#client.disconnect());
  }
}

/** One log line when the connection is lost and one when it is back, not one per retry. */
function reportConnectionState(client: Redis, url: string): void {
  // A plain connection to a TLS-only server (ElastiCache Serverless is one) is reset or hangs.
  const hint = url.startsWith('redis://')
    ? { hint: 'if the server requires TLS (ElastiCache does), use rediss://' }
    : {};
  let connected = false;
  let failureReported = false;
  client.on('ready', () => {
    connected = true;
    failureReported = false;
    logger.info('Redis connection ready', { url });
  });
  client.on('error', (error) => {
    if (failureReported) return;
    failureReported = true;
    logger.warn(connected ? 'Redis connection lost; reconnecting' : 'Redis unreachable; retrying', {
      url,
      error,
      ...hint,
    });
  });
}
