import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from '../config';
import { StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import { settleWithin } from './deadline';

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

export interface RedisConnectionOptions {
  url: string;
  /** How long a request waits for a connection, and then for a reply. */
  timeoutMs: number;
  /** A connection unused this long is replaced before it is used again (a network may have dropped it). */
  maxIdleMs: number;
  /** Added to the client options (a test's own TLS CA, say). */
  clientOptions?: RedisOptions | undefined;
  /** Defines this store's commands on each new client. */
  prepare: (client: Redis) => void;
}

/** One TCP connection to Redis, from connect to retirement. It is never reconnected: a new one replaces it. */
interface Link {
  client: Redis;
  /** Resolves once the connection has passed the ready check in the right database. */
  ready: Promise<Redis>;
  /** Counts the steps a connection attempt has made, so a slow but moving attempt is not abandoned. */
  steps: number;
  /** Set once `ready` resolved: the connection is in the right database. */
  verified: boolean;
  lastUsedAt: number;
  retired: boolean;
}

/**
 * ioredis's own timers (`commandTimeout`, `socketTimeout`, `connectTimeout`) fire late in a busy
 * process and then fail commands whose replies have already arrived; its reconnect loop keeps a
 * half-open socket or a wrong database in use. So each connection is used until it fails once and
 * is then replaced, and every wait is bounded by `settleWithin`.
 */
export function redisClientOptions(): RedisOptions {
  return {
    // A backstop for a TCP connect that hangs while no request is waiting; requests give up sooner.
    connectTimeout: 10_000,
    // Commands are sent only once the connection is ready, with a deadline computed at that moment.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => null,
    // Keeps an idle flow alive in NATs and load balancers (AWS drops idle ones after 350 s).
    keepAlive: 60_000,
  };
}

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
    this.#link = this.#open();
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
        this.#retire(link);
        throw new ReplyLostError('Redis connection failed', deadline, { cause: error });
      }
      link.lastUsedAt = Date.now();
      const { problem, reconnect } = explainReplyError(error.message);
      if (reconnect) this.#retire(link);
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
      this.#retire(link);
    }
    this.#link = this.#open();
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
    this.#retire(link);
    return error;
  }

  #retire(link: Link): void {
    if (link.retired) return;
    link.retired = true;
    link.client.disconnect();
  }

  #open(): Link {
    const client = new Redis(this.#options.url, { ...redisClientOptions(), ...this.#options.clientOptions });
    this.#options.prepare(client);
    const link: Link = {
      client,
      ready: Promise.resolve(client),
      steps: 0,
      verified: false,
      lastUsedAt: Date.now(),
      retired: false,
    };
    link.ready = new Promise<Redis>((resolve, reject) => {
      let lastError: unknown;
      let refusedDatabase: unknown;
      let refusedCredentials: StoreUnavailableError | undefined;
      // A host name's DNS lookup is a step too: in a container (REDIS_URL=redis://redis:6379) on a
      // busy machine it can take longer than the timeout. The socket exists once 'connecting' has
      // been emitted and the connector's promise has settled: look for it after this turn.
      client.once('connecting', () =>
        setImmediate(() =>
          client.stream?.once('lookup', () => {
            link.steps += 1;
          }),
        ),
      );
      client.on('connect', () => {
        link.steps += 1;
        // Each reply of the handshake (CLIENT SETINFO, SELECT, INFO) is a step too: in a busy
        // process they can take several event-loop turns, each longer than the timeout.
        const step = () => {
          link.steps += 1;
        };
        client.stream.on('data', step);
        client.once('ready', () => client.stream.off('data', step));
      });
      client.on('error', (raw: Error & { command?: { name?: string } }) => {
        const error = loggableError(raw, this.#password);
        lastError = error;
        // ioredis reports a refused SELECT as an error and carries on in database 0.
        if (raw.command?.name === 'select') refusedDatabase = error;
        else {
          refusedCredentials ??= credentialsRefused(error);
          this.#health.failed(refusedCredentials ?? error);
        }
      });
      client.once('ready', () => {
        if (refusedDatabase === undefined) {
          link.verified = true;
          this.#health.ready();
          resolve(client);
          return;
        }
        const error = new StoreUnavailableError(
          `REDIS_URL names database ${client.options.db}, which this Redis refuses; use one it has (0 on ElastiCache)`,
          { cause: refusedDatabase },
        );
        this.#health.failed(error);
        reject(error);
        this.#retire(link);
      });
      client.once('end', () => {
        link.retired = true;
        reject(refusedCredentials ?? new StoreUnavailableError('Redis connection failed', { cause: lastError }));
      });
    });
    // A rejection nobody awaits (no request was waiting) is expected, not a crash.
    link.ready.catch(() => {});
    return link;
  }
}

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/** What Redis's error replies mean for this service, and whether the connection should be replaced. */
export function explainReplyError(message: string): { problem: string; reconnect: boolean } {
  // Redis 6 wraps an error raised inside a script ("ERR Error running script ... -READONLY ..."),
  // Redis 7 passes its code on: match the code anywhere in the message.
  if (/\bOOM\b/.test(message)) {
    return { problem: 'Redis is out of memory (maxmemory with noeviction) and refused the write', reconnect: false };
  }
  if (/\bREADONLY\b/.test(message)) {
    // After a failover the old primary is a replica; a new connection finds the new primary.
    return { problem: 'Redis is a read-only replica (after a failover?); reconnecting', reconnect: true };
  }
  if (/\bLOADING\b/.test(message)) {
    return { problem: 'Redis is loading its dataset into memory', reconnect: false };
  }
  return { problem: `Redis answered with an error: ${message}`, reconnect: false };
}

/**
 * The error as it may be logged. ioredis attaches to a reply error the command it answered, and an
 * AUTH's (or HELLO's) arguments are the password: the command is dropped. Redis may quote the
 * arguments too (Redis 7: "ERR unknown command 'auth', with args beginning with: ..."): the password
 * is masked. An error with no command (the socket's) quotes nothing this process sent.
 */
export function loggableError<E extends Error>(error: E, password = ''): E {
  if (!('command' in error)) return error;
  const mask = (text: string) => (password ? text.replaceAll(password, '****') : text);
  return Object.assign(new Error(mask(error.message)), { name: error.name, stack: mask(error.stack ?? '') }) as E;
}

/**
 * What to do about credentials Redis refused while connecting, or undefined for any other error.
 * The cause keeps Redis's reply but not the command it answered.
 */
export function credentialsRefused(error: unknown): StoreUnavailableError | undefined {
  if (!isReplyError(error)) return undefined;
  const reply = loggableError(error);
  if (/^NOAUTH\b/.test(error.message)) {
    return new StoreUnavailableError(
      'Redis requires a password, and REDIS_URL has none: use redis://:PASSWORD@host:port (rediss:// for TLS)',
      { cause: reply },
    );
  }
  if (/^WRONGPASS\b/.test(error.message)) {
    return new StoreUnavailableError('Redis refused the user name or password in REDIS_URL', { cause: reply });
  }
  return undefined;
}

/** One warning when connections start failing and one line when one works again, not one per attempt. */
class ConnectionHealth {
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
