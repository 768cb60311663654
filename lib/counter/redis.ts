import type { Redis, RedisOptions, Result } from 'ioredis';
import { StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import type { CounterStore } from './counter-store';
import { RedisConnection } from './redis-connection';

/**
 * Every write carries a deadline (ARGV[1], epoch ms): the time after which this service has
 * answered 503 for it. Redis checks it against its own clock before changing anything, so a
 * command that reaches Redis late (it was frozen, or the network held it) does nothing instead
 * of taking effect after the client was told it failed. -1 means "too late, nothing done".
 */
const UNLESS_PAST_DEADLINE = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then
  return -1
end
`;

/** Sets the counter to 1 and (re)opens the window of ARGV[2] ms. */
export const OPEN_WINDOW = `${UNLESS_PAST_DEADLINE}
redis.call('SET', KEYS[1], 1, 'PX', ARGV[2])
return 1
`;

/**
 * INCR creates a missing key (with no expiry), so the check and the increment must be one step:
 * Redis runs a script without interleaving other commands. INCR keeps the key's expiry.
 * PTTL is -2 for a missing key and -1 for one without expiry; neither may count.
 */
export const INCREMENT_WHILE_OPEN = `${UNLESS_PAST_DEADLINE}
if redis.call('PTTL', KEYS[1]) > 0 then
  return redis.call('INCR', KEYS[1])
end
return false
`;

const PAST_DEADLINE = -1;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    openWindow(key: string, deadline: number, windowMs: number): Result<number, Context>;
    incrementWhileOpen(key: string, deadline: number): Result<number | null, Context>;
  }
}

/** Defines this store's scripts on a client (ioredis sends EVALSHA, and EVAL after a NOSCRIPT). */
export function defineCounterCommands(client: Redis): void {
  client.defineCommand('openWindow', { numberOfKeys: 1, lua: OPEN_WINDOW });
  client.defineCommand('incrementWhileOpen', { numberOfKeys: 1, lua: INCREMENT_WHILE_OPEN });
}

export interface RedisCounterStoreOptions {
  url: string;
  timeoutMs: number;
  maxIdleMs: number;
  /** Added to each client's options (a test's own TLS CA, say). */
  clientOptions?: RedisOptions;
}

/**
 * Takes a URL, not a client: a connection that fails once is replaced by a new client (see
 * RedisConnection), so the store must be able to make clients of its own.
 */
export class RedisCounterStore implements CounterStore {
  readonly #connection: RedisConnection;
  #clockWarned = false;

  constructor(options: RedisCounterStoreOptions) {
    this.#connection = new RedisConnection({ ...options, prepare: defineCounterCommands });
  }

  async start(key: string, windowMs: number): Promise<number> {
    await this.#write((client, deadline) => client.openWindow(key, deadline, windowMs));
    return 1;
  }

  increment(key: string): Promise<number | null> {
    return this.#write((client, deadline) => client.incrementWhileOpen(key, deadline));
  }

  async ping(): Promise<void> {
    await this.#connection.send((client) => client.ping());
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  async #write(script: (client: Redis, deadline: number) => Promise<number | null>): Promise<number | null> {
    let deadline = 0;
    const reply = await this.#connection.send((client, at) => {
      deadline = at;
      return script(client, at);
    });
    if (reply !== PAST_DEADLINE) return reply;
    const earlyByMs = deadline - Date.now();
    // Redis saw the deadline pass before this host's clock did: the clocks disagree.
    if (earlyByMs > 0 && !this.#clockWarned) {
      this.#clockWarned = true;
      logger.error("Redis's clock is ahead of this host's; writes are refused as late. Synchronise the clocks (NTP)", {
        aheadByAtLeastMs: earlyByMs,
      });
    }
    throw new StoreUnavailableError('Redis received the command after its deadline; nothing was changed');
  }
}
