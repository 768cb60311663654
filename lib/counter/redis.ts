import type { Redis, RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import type { CounterStore } from './counter-store';
import { RedisConnection, ReplyLostError } from './redis-connection';
import { settleLostWrite } from './redis-outcome';
import { nextSlot, type OutcomeSlot } from './redis-outcome-ring';
import { defineCounterCommands, PAST_DEADLINE } from './redis-scripts';

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
    await this.#write(key, (client, deadline, slot) =>
      client.openWindow(key, slot.ringKey, deadline, slot.seq, slot.refresh, windowMs),
    );
    return 1;
  }

  increment(key: string): Promise<number | null> {
    return this.#write(key, (client, deadline, slot) =>
      client.incrementWhileOpen(key, slot.ringKey, deadline, slot.seq, slot.refresh),
    );
  }

  async ping(): Promise<void> {
    await this.#connection.send((client) => client.ping());
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  async #write(
    key: string,
    script: (client: Redis, deadline: number, slot: OutcomeSlot) => Promise<number | null>,
  ): Promise<number | null> {
    let deadline = 0;
    let slot: OutcomeSlot | undefined;
    let reply: number | null;
    try {
      reply = await this.#connection.send((client, at) => {
        deadline = at;
        slot = nextSlot(client, key);
        return script(client, deadline, slot);
      });
    } catch (error) {
      if (!(error instanceof ReplyLostError) || !slot) throw error;
      return settleLostWrite(error, slot, this.#timeoutMs, (...args) =>
        this.#connection.send((client) => client.readOutcome(...args)),
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
