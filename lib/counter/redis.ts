import type { Redis, RedisOptions, Result } from 'ioredis';
import { StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import type { CounterStore } from './counter-store';
import { RedisConnection, ReplyLostError } from './redis-connection';
import { outcomeKey, recordedUntil, SETTLE_OUTCOME, settleLostWrite } from './redis-outcome';
import { newRequestId } from './request-id';

/**
 * Every write carries a deadline (ARGV[1], epoch ms): the time after which this service may have
 * answered 503 for it. Redis checks it against its own clock before changing anything, so a
 * command that reaches Redis late (it was frozen, or the network held it) does nothing instead
 * of taking effect after the client was told it failed. A marker under the write's outcome key
 * (KEYS[2]) means a lookup has already settled it as not applied: it must not land either.
 * -1 means "too late, nothing done".
 */
const UNLESS_PAST_DEADLINE = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then
  return -1
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return -1
end
`;

/** Sets the counter to 1 and (re)opens the window of ARGV[3] ms; records 1 as this request's outcome. */
export const OPEN_WINDOW = `${UNLESS_PAST_DEADLINE}
redis.call('SET', KEYS[1], 1, 'PX', ARGV[3])
redis.call('SET', KEYS[2], 1, 'PXAT', ARGV[2])
return 1
`;

/**
 * INCR creates a missing key (with no expiry), so the check and the increment must be one step:
 * Redis runs a script without interleaving other commands. INCR keeps the key's expiry.
 * PTTL is -2 for a missing key and -1 for one without expiry; neither may count.
 * The number is recorded as this request's outcome (KEYS[2], kept until ARGV[2]); a closed window
 * changed nothing, so it records nothing.
 */
export const INCREMENT_WHILE_OPEN = `${UNLESS_PAST_DEADLINE}
if redis.call('PTTL', KEYS[1]) > 0 then
  local count = redis.call('INCR', KEYS[1])
  redis.call('SET', KEYS[2], count, 'PXAT', ARGV[2])
  return count
end
return false
`;

const PAST_DEADLINE = -1;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    openWindow(
      key: string,
      outcomeKey: string,
      deadline: number,
      recordedUntil: number,
      windowMs: number,
    ): Result<number, Context>;
    incrementWhileOpen(
      key: string,
      outcomeKey: string,
      deadline: number,
      recordedUntil: number,
    ): Result<number | null, Context>;
    settleOutcome(outcomeKey: string, deadline: number, recordedUntil: number): Result<number, Context>;
  }
}

/** Defines this store's scripts on a client (ioredis sends EVALSHA, and EVAL after a NOSCRIPT). */
export function defineCounterCommands(client: Redis): void {
  client.defineCommand('openWindow', { numberOfKeys: 2, lua: OPEN_WINDOW });
  client.defineCommand('incrementWhileOpen', { numberOfKeys: 2, lua: INCREMENT_WHILE_OPEN });
  client.defineCommand('settleOutcome', { numberOfKeys: 1, lua: SETTLE_OUTCOME });
}

/** What a write script is sent besides its counter key. */
interface WriteArguments {
  outcomeKey: string;
  deadline: number;
  recordedUntil: number;
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
  readonly #timeoutMs: number;
  #clockWarned = false;

  constructor(options: RedisCounterStoreOptions) {
    this.#connection = new RedisConnection({ ...options, prepare: defineCounterCommands });
    this.#timeoutMs = options.timeoutMs;
  }

  async start(key: string, windowMs: number): Promise<number> {
    await this.#write(key, (client, write) =>
      client.openWindow(key, write.outcomeKey, write.deadline, write.recordedUntil, windowMs),
    );
    return 1;
  }

  increment(key: string): Promise<number | null> {
    return this.#write(key, (client, write) =>
      client.incrementWhileOpen(key, write.outcomeKey, write.deadline, write.recordedUntil),
    );
  }

  async ping(): Promise<void> {
    await this.#connection.send((client) => client.ping());
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  /** The request id is made here, per call: it only has to be unique, and the port stays as it is. */
  async #write(
    key: string,
    script: (client: Redis, write: WriteArguments) => Promise<number | null>,
  ): Promise<number | null> {
    const record = { key: outcomeKey(key, newRequestId()), until: 0 };
    let deadline = 0;
    let reply: number | null;
    try {
      reply = await this.#connection.send((client, at) => {
        deadline = at;
        record.until = recordedUntil(at, this.#timeoutMs);
        return script(client, { outcomeKey: record.key, deadline, recordedUntil: record.until });
      });
    } catch (error) {
      if (!(error instanceof ReplyLostError)) throw error;
      return settleLostWrite(error, record, this.#timeoutMs, (...args) =>
        this.#connection.send((client) => client.settleOutcome(...args)),
      );
    }
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
