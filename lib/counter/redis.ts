import type { Redis, Result } from 'ioredis';
import { ReplyLostError, StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import type { CounterStore } from './counter-store';
import { hedged, LOOKUP_ASKS, type Lookup, newWriteId, settleLostWrite } from './lost-write';
import { type RedisConnection, type RedisConnectionOptions, RedisConnector } from './redis-connection';

/**
 * The counter is one key with an expiry (the window). Each write is one Lua script, so the check and
 * the change are one atomic step, and each script first compares Redis's clock with the write's
 * deadline: a write that reaches Redis after this service may have answered 503 for it changes
 * nothing.
 *
 * Every write also records the number it got, in the same script, in a ring kept per connection:
 * slot `seq % RING_SLOTS` of the string `{<counter key>}:outcomes:<connection id>` holds (seq,
 * number), 16 bytes. A request whose reply is lost (a reset, a half-open connection, a timeout)
 * waits until its deadline has passed on Redis's clock, then reads its slot on a new connection: its
 * own seq there is the number it got; an older seq, or an empty slot, means the write was not
 * applied, and now never will be; anything else, that it cannot tell. A ring costs no allocation per
 * write and a fixed 16 KB per connection; a key per request (SET ... PXAT) took Redis about 1.7
 * times the CPU of the ring, 2.6 times that of no record at all. On a cluster the ring shares the
 * counter's hash slot (`{...}`), and every key is passed in KEYS.
 */

/** Slots per ring: a lost reply is settled while fewer than this many later writes have been sent on its connection. */
export const RING_SLOTS = 1024;
/** A ring outlives its connection's last write by this much, and is refreshed well within it. */
export const RING_KEPT_MS = 60_000;
const RING_REFRESH_MS = 20_000;
/** A ring is confirmed again before a write when its expiry may come within this much plus the write's and lookup's time. */
const RING_MARGIN_MS = 1_000;

/** What a write script returns when Redis received it after its deadline: nothing was done. */
const PAST_DEADLINE = -1;
/** What the lookup script returns: the number the write got (> 0), or one of these. */
const NOT_APPLIED = 0;
const OVERWRITTEN = -2;
const GONE = -3;
/** At or below it: the deadline has not passed on Redis's clock; TOO_EARLY - result is the wait in ms. */
const TOO_EARLY = -1_000_000;

/** The arguments of each script, in the order KEYS and ARGV carry them; named once for the Lua and the TypeScript. */
const WRITE_KEYS = ['counterKey', 'ringKey'] as const;
const WRITE_ARGV = ['deadline', 'seq', 'refresh', 'windowMs'] as const;
const READ_KEYS = ['ringKey'] as const;
const READ_ARGV = ['deadline', 'seq'] as const;

/** Lua locals for the script's KEYS and ARGV, by name; numbers as numbers. */
function locals(keys: readonly string[], argv: readonly string[]): string {
  const numeric = new Set(['deadline', 'seq', 'windowMs']);
  return [
    ...keys.map((name, index) => `local ${name} = KEYS[${index + 1}]`),
    ...argv.map((name, index) =>
      numeric.has(name) ? `local ${name} = tonumber(ARGV[${index + 1}])` : `local ${name} = ARGV[${index + 1}]`,
    ),
  ].join('\n');
}

const NOW_MS = `local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)`;

/**
 * What every write script starts with: its arguments, the deadline checked on Redis's clock, and
 * recordOutcome(count), which writes (seq, count) into the ring. `refresh` = '1' renews the ring's
 * expiry; otherwise it is set only if the ring has none (SETRANGE made it anew: the connection's
 * first write, or after a flush), so no ring is ever left without one.
 */
const WRITE_PROLOGUE = `${locals(WRITE_KEYS, WRITE_ARGV)}
${NOW_MS}
if now > deadline then
  return ${PAST_DEADLINE}
end
local function recordOutcome(count)
  redis.call('SETRANGE', ringKey, (seq % ${RING_SLOTS}) * 16, struct.pack('>dd', seq, count))
  if refresh == '1' then
    redis.call('PEXPIRE', ringKey, ${RING_KEPT_MS})
  else
    redis.call('PEXPIRE', ringKey, ${RING_KEPT_MS}, 'NX')
  end
end
`;

/** Sets the counter to 1 and (re)opens the window of `windowMs`. */
const OPEN_WINDOW = `${WRITE_PROLOGUE}
redis.call('SET', counterKey, 1, 'PX', windowMs)
recordOutcome(1)
return 1
`;

/**
 * INCR creates a missing key (with no expiry), so the check and the increment must be one step:
 * Redis runs a script without interleaving other commands, and INCR keeps the key's expiry. PTTL is
 * -2 for a missing key and -1 for one without expiry; neither may count. A closed window changes
 * nothing and records nothing (it only makes the ring anew, zeroed, when a flush took it).
 */
export const INCREMENT_WHILE_OPEN = `${WRITE_PROLOGUE}
if redis.call('PTTL', counterKey) > 0 then
  local count = redis.call('INCR', counterKey)
  recordOutcome(count)
  return count
end
-- No record, but the ring is made anew if a flush took it with the counter, so that "no ring" keeps
-- meaning destroyed for this connection's next writes.
redis.call('SET', ringKey, string.rep(string.char(0), 16), 'PX', ${RING_KEPT_MS}, 'NX')
return false
`;

/**
 * Creates a connection's ring, one zeroed slot (seq 0: no write), or renews its expiry when it is
 * there; run and answered before any write on the connection is sent.
 */
const CREATE_RING = `${locals(READ_KEYS, [])}
if redis.call('PEXPIRE', ringKey, ${RING_KEPT_MS}) == 0 then
  redis.call('SET', ringKey, string.rep(string.char(0), 16), 'PX', ${RING_KEPT_MS})
end
return 1
`;

/**
 * Reads a lost write's slot. GONE, when the ring is not there at all: it was created before the
 * connection's first write and kept alive since, so it was destroyed (a flush, a store restarted
 * without its data, an eviction: a storage maximum on ElastiCache Serverless evicts keys with a TTL).
 */
const READ_OUTCOME = `${locals(READ_KEYS, READ_ARGV)}
${NOW_MS}
if now <= deadline then
  return ${TOO_EARLY} - (deadline + 1 - now)
end
if redis.call('EXISTS', ringKey) == 0 then
  return ${GONE}
end
local slot = redis.call('GETRANGE', ringKey, (seq % ${RING_SLOTS}) * 16, (seq % ${RING_SLOTS}) * 16 + 15)
if #slot < 16 then
  return ${NOT_APPLIED}
end
local recordedSeq, count = struct.unpack('>dd', slot)
if recordedSeq == seq then
  return count
end
if recordedSeq > seq then
  return ${OVERWRITTEN}
end
return ${NOT_APPLIED}
`;

type Argument = string | number;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    openWindow(...args: Argument[]): Result<number, Context>;
    incrementWhileOpen(...args: Argument[]): Result<number | null, Context>;
    readOutcome(...args: Argument[]): Result<number, Context>;
    createRing(ringKey: string): Result<number, Context>;
  }
}

/** Defines this store's scripts on a client (ioredis sends EVALSHA, and EVAL after a NOSCRIPT). */
export function defineCounterCommands(client: Redis): void {
  client.defineCommand('openWindow', { numberOfKeys: WRITE_KEYS.length, lua: OPEN_WINDOW });
  client.defineCommand('incrementWhileOpen', { numberOfKeys: WRITE_KEYS.length, lua: INCREMENT_WHILE_OPEN });
  client.defineCommand('readOutcome', { numberOfKeys: READ_KEYS.length, lua: READ_OUTCOME });
  client.defineCommand('createRing', { numberOfKeys: READ_KEYS.length, lua: CREATE_RING });
}

type WriteArguments = Record<(typeof WRITE_KEYS)[number] | (typeof WRITE_ARGV)[number], Argument>;

/** A write's arguments in the order of WRITE_KEYS and WRITE_ARGV. */
function writeArguments(args: WriteArguments): Argument[] {
  return [...WRITE_KEYS, ...WRITE_ARGV].map((name) => args[name]);
}

/** One connection's rings (one per counter key): their id, the seq of its last write, and when each ring's expiry was last set. */
interface Ring {
  id: string;
  seq: number;
  /** By counter key: when this process last had Redis's word that the ring's expiry was set. */
  renewedAt: Map<string, number>;
  /** By counter key: when a command that leaves the ring in place last reached Redis (sent at or after this). */
  seenAt: Map<string, number>;
}

export interface RedisCounterOptions extends RedisConnectionOptions {
  /** The counters this store keeps: each new connection creates their rings before it is used. */
  counterKeys?: readonly string[];
}

/**
 * Takes a URL, not a client: a connection that fails once is replaced by a new client (see
 * RedisConnector), so the store must be able to make clients of its own.
 */
export class RedisCounterStore implements CounterStore {
  readonly #connector: RedisConnector;
  readonly #timeoutMs: number;
  readonly #rings = new WeakMap<RedisConnection, Ring>();
  /** Every counter key this store was told of or has written: a new connection creates their rings. */
  readonly #counterKeys: Set<string>;
  #clockWarned = false;

  constructor({ counterKeys = [], ...options }: RedisCounterOptions) {
    this.#counterKeys = new Set(counterKeys);
    this.#timeoutMs = options.timeoutMs;
    this.#connector = new RedisConnector(options, defineCounterCommands, (connection) =>
      this.#createRings(connection, [...this.#counterKeys]),
    );
  }

  async start(key: string, windowMs: number): Promise<number> {
    await this.#write('openWindow', key, windowMs);
    return 1;
  }

  increment(key: string): Promise<number | null> {
    return this.#write('incrementWhileOpen', key, 0);
  }

  async ping(): Promise<void> {
    const connection = await this.#connector.ready();
    await connection.reply(connection.client.ping());
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connector.close();
  }

  async #write(script: 'openWindow' | 'incrementWhileOpen', counterKey: string, windowMs: number) {
    const connection = await this.#connector.ready();
    await this.#ringReady(connection, counterKey);
    if (!connection.writable) {
      connection.retire();
      throw new StoreUnavailableError('Redis connection closed before the command was sent');
    }
    // The deadline starts when the command is written, not while a connection was being made.
    const deadline = Date.now() + this.#timeoutMs;
    const { ring, ringKey, seq, refresh } = this.#nextSlot(connection, counterKey);
    let reply: number | null;
    try {
      const args = writeArguments({ counterKey, ringKey, deadline, seq, refresh, windowMs });
      reply = await connection.reply(connection.client[script](...args));
      // Any script not past its deadline leaves the ring there; one that recorded (not a closed
      // window) renewed its expiry when asked to.
      if (reply !== PAST_DEADLINE) {
        const sentAt = deadline - this.#timeoutMs;
        if (refresh === '1' && reply !== null) ringRenewed(ring, counterKey, sentAt);
        else ring.seenAt.set(counterKey, sentAt);
      }
    } catch (error) {
      if (!(error instanceof ReplyLostError)) throw error;
      return settleLostWrite(error, {
        store: 'Redis',
        // After the deadline on Redis's clock the script refuses the write: the record is final.
        from: deadline + 1,
        // A lookup that fails is tried again for up to one more timeout.
        until: deadline + this.#timeoutMs,
        lookUp: this.#lookUp(ring, counterKey, deadline, seq),
      });
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

  /**
   * The lookup of a lost write's slot. It is asked again each fifth of the timeout that passes
   * without an answer, each time on a new connection in place of the one it waits for (an attempt
   * left hanging by a fault that has since healed, replies queued behind a delay that has gone):
   * reading a slot twice changes nothing.
   */
  #lookUp(ring: Ring, counterKey: string, deadline: number, seq: number): () => Promise<Lookup> {
    const ringKeyOfWrite = ringKey(counterKey, ring.id);
    let unanswered: RedisConnection | undefined;
    return hedged(async () => {
      if (unanswered) this.#connector.supersede(unanswered);
      const connection = this.#connector.current();
      unanswered = connection;
      try {
        return await this.#readOutcome(connection, ringKeyOfWrite, deadline, seq, ring.seenAt.get(counterKey));
      } finally {
        if (unanswered === connection) unanswered = undefined;
      }
    }, this.#timeoutMs / LOOKUP_ASKS);
  }

  /** A lost write's slot, read on `connection`; `seenAt`, when this process last knew its ring was there. */
  async #readOutcome(
    opening: RedisConnection,
    ringKeyOfWrite: string,
    deadline: number,
    seq: number,
    seenAt: number | undefined,
  ): Promise<Lookup> {
    const connection = await this.#connector.whenReady(opening);
    const outcome = await connection.reply(connection.client.readOutcome(ringKeyOfWrite, deadline, seq));
    if (outcome > 0) return { found: 'applied', count: outcome };
    if (outcome <= TOO_EARLY) return { found: 'too-early', waitMs: TOO_EARLY - outcome };
    if (outcome === GONE) {
      // When it was last seen bounds when it was destroyed: what an operator (and the chaos test)
      // looks for in that time is a flush or a store that lost its data.
      const since = seenAt === undefined ? '' : ` since ${new Date(seenAt).toISOString()}, when it was last seen`;
      return {
        found: 'unknown',
        reason: `its connection's record of outcomes was destroyed (flushed, evicted, or lost with the store's data)${since}`,
      };
    }
    if (outcome === OVERWRITTEN) return { found: 'unknown', reason: "later writes have taken its record's place" };
    return { found: 'not-applied' };
  }

  #ringOf(connection: RedisConnection): Ring {
    let ring = this.#rings.get(connection);
    if (!ring) {
      ring = { id: newWriteId(), seq: 0, renewedAt: new Map(), seenAt: new Map() };
      this.#rings.set(connection, ring);
    }
    return ring;
  }

  /** Part of a new connection's ready check: the rings of the counters this store keeps. */
  async #createRings(connection: RedisConnection, counterKeys: string[]): Promise<void> {
    const ring = this.#ringOf(connection);
    await Promise.all(
      counterKeys.map(async (counterKey) => {
        const askedAt = Date.now();
        await connection.client.createRing(ringKey(counterKey, ring.id));
        ringRenewed(ring, counterKey, askedAt);
      }),
    );
  }

  /**
   * Makes sure the ring a write will record into exists, and outlives the write and its lookup: a
   * key this connection has not created one for yet, or a ring whose expiry may be near (the
   * connection sat idle), is created or renewed first, and answered, before the write is sent. Its
   * failure changes nothing: an exact StoreUnavailableError.
   */
  async #ringReady(connection: RedisConnection, counterKey: string): Promise<void> {
    this.#counterKeys.add(counterKey);
    const ring = this.#ringOf(connection);
    const renewedAt = ring.renewedAt.get(counterKey);
    const needed = 3 * this.#timeoutMs + RING_MARGIN_MS;
    if (renewedAt !== undefined && Date.now() - renewedAt < RING_KEPT_MS - needed) return;
    const askedAt = Date.now();
    try {
      await connection.reply(connection.client.createRing(ringKey(counterKey, ring.id)));
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      throw new StoreUnavailableError(`${error.message}; the write was not sent`, { cause: error.cause });
    }
    ringRenewed(ring, counterKey, askedAt);
  }

  /** Where the next write on this connection records its outcome, and whether it renews the ring's expiry. */
  #nextSlot(connection: RedisConnection, counterKey: string) {
    const ring = this.#ringOf(connection);
    ring.seq += 1;
    const refresh = Date.now() - (ring.renewedAt.get(counterKey) ?? 0) > RING_REFRESH_MS;
    return { ring, ringKey: ringKey(counterKey, ring.id), seq: ring.seq, refresh: refresh ? '1' : '0' };
  }
}

/** Redis created or renewed the ring, with its expiry, for a command sent at `at`: it was there then too. */
function ringRenewed(ring: Ring, counterKey: string, at: number): void {
  ring.renewedAt.set(counterKey, at);
  ring.seenAt.set(counterKey, at);
}

/** A connection's ring for one counter: in the counter's hash slot, named after the connection. */
function ringKey(counterKey: string, ringId: string): string {
  return `{${counterKey}}:outcomes:${ringId}`;
}
