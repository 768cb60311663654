import type { Redis } from 'ioredis';
import { redactUrl } from '../config';
import { StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import { settleWithin } from './deadline';
import type { RedisConnectionOptions } from './redis-client-options';
import { ConnectionHealth } from './redis-connection-health';
import { type Link, openLink, retireLink } from './redis-link';
import { explainReplyError, isReplyError } from './redis-reply-errors';

/**
 * The command was written and no reply came (a timeout, a reset, a closed socket): Redis may have
 * run it, up to `deadline` (epoch ms), after which its script refuses to.
 */
export class ReplyLostError extends StoreUnavailableError {
  constructor(
    message: string,
    readonly deadline: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The store's one Redis connection at a time: replaced by a new one when it fails or idles. */
export class RedisConnection {
  readonly #options: RedisConnectionOptions;
  readonly #health: ConnectionHealth;
  /** REDIS_URL's password, as ioredis sends it in AUTH: never logged. */
  readonly #password: string;
  #link: Link | undefined;
  #closed = false;

  constructor(options: RedisConnectionOptions) {
    this.#options = options;
    this.#health = new ConnectionHealth(redactUrl(options.url));
    this.#password = decodeURIComponent(new URL(options.url).password);
    this.#link = openLink(this.#options, this.#health, this.#password);
  }

  /**
   * Sends one command on a ready connection, giving it the time (epoch ms) after which Redis must
   * refuse it. Every failure is a StoreUnavailableError that says what happened, a ReplyLostError
   * when the command may have run; a connection that timed out, or that Redis says is the wrong one
   * to write to, is replaced.
   */
  async send<T>(command: (client: Redis, deadline: number) => Promise<T>): Promise<T> {
    const link = this.#usableLink();
    const client = await this.#whenReady(link);
    const { timeoutMs } = this.#options;
    // The deadline starts when the command is written, not while a connection was being made.
    const deadline = Date.now() + timeoutMs;
    try {
      const reply = await settleWithin(command(client, deadline), timeoutMs, () =>
        this.#giveUp(link, new ReplyLostError(`Redis did not answer within ${timeoutMs} ms; reconnecting`, deadline)),
      );
      link.lastUsedAt = Date.now();
      return reply;
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      if (!isReplyError(error)) {
        // Written, maybe run, maybe still on its way: a connection closed under it is not one Redis closed.
        retireLink(link);
        throw new ReplyLostError('Redis connection failed', deadline, { cause: error });
      }
      link.lastUsedAt = Date.now();
      const { problem, reconnect } = explainReplyError(error.message);
      if (reconnect) retireLink(link);
      throw new StoreUnavailableError(problem, { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const link = this.#link;
    if (!link || link.retired) return;
    link.retired = true;
    await link.client.quit().catch(() => link.client.disconnect());
  }

  #usableLink(): Link {
    const link = this.#link;
    if (this.#closed) throw new StoreUnavailableError('Redis connection closed');
    if (link && !link.retired) {
      const idleMs = Date.now() - link.lastUsedAt;
      if (idleMs <= this.#options.maxIdleMs) return link;
      // A frozen Lambda instance or a quiet network may have lost this connection without a word.
      logger.debug('replacing an idle Redis connection', { idleMs });
      retireLink(link);
    }
    this.#link = openLink(this.#options, this.#health, this.#password);
    return this.#link;
  }

  #whenReady(link: Link): Promise<Redis> {
    // ioredis says "ready" a tick before this adapter has checked the database; wait for that check.
    if (link.verified && !link.retired) return Promise.resolve(link.client);
    const { timeoutMs } = this.#options;
    return settleWithin(
      link.ready,
      timeoutMs,
      () => this.#giveUp(link, new StoreUnavailableError(`Redis connection not ready within ${timeoutMs} ms`)),
      () => link.steps,
    );
  }

  #giveUp<E extends StoreUnavailableError>(link: Link, error: E): E {
    this.#health.failed(error);
    retireLink(link);
    return error;
  }
}
