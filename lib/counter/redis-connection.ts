import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from '../config';
import { ReplyLostError, StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import { withinDeadline } from './deadline';

export interface RedisConnectionOptions {
  url: string;
  /** How long a request waits for a connection, and then for a reply. */
  timeoutMs: number;
  /** A connection unused this long is replaced before it is used again (a network may have dropped it). */
  maxIdleMs: number;
  /** Added to the client options (a test's own TLS CA, say). */
  clientOptions?: RedisOptions | undefined;
}

/** A store's own step in opening a connection, after the handshake and before any request may use it. */
export type ConnectionSetUp = (connection: RedisConnection) => Promise<void>;

/** How ioredis refuses a command it did not write (`enableOfflineQueue: false`, the socket not writable). */
const NOT_WRITTEN = "Stream isn't writeable";

/**
 * ioredis's own timers (`commandTimeout`, `socketTimeout`, `connectTimeout`) fire late in a busy
 * process and then fail commands whose replies have already arrived; its reconnect loop keeps a
 * half-open socket or a wrong database in use. So a connection is used until it fails once and is
 * then replaced, and every wait is bounded by `withinDeadline`.
 */
const CLIENT_OPTIONS: RedisOptions = {
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

/**
 * The store's connection to Redis, one at a time: `ready()` hands out the current one, or opens a
 * new one when it has failed or idled; `supersede()` puts a new one in place of one that is slow to
 * answer, and closes the old one once its commands have settled.
 */
export class RedisConnector {
  readonly #options: RedisConnectionOptions;
  readonly #health: ConnectionHealth;
  /** REDIS_URL's password, as ioredis sends it in AUTH: never logged. */
  readonly #password: string;
  readonly #prepare: (client: Redis) => void;
  readonly #setUp: ConnectionSetUp | undefined;
  #current: RedisConnection | undefined;
  #closed = false;

  /**
   * `prepare` defines the store's commands on each new client; `setUp`, when given, is part of each
   * connection's ready check: a connection is handed out only once it has succeeded.
   */
  constructor(options: RedisConnectionOptions, prepare: (client: Redis) => void, setUp?: ConnectionSetUp) {
    this.#options = options;
    this.#prepare = prepare;
    this.#setUp = setUp;
    this.#health = new ConnectionHealth(redactUrl(options.url));
    this.#password = decodeURIComponent(new URL(options.url).password);
    this.#current = this.#open();
  }

  /**
   * A connection that has passed its ready check (the right database, accepted credentials), within
   * the timeout; a connection attempt that keeps moving (DNS, TCP, each handshake reply) gets more.
   */
  ready(): Promise<RedisConnection> {
    return this.whenReady(this.current());
  }

  /** The connection requests use now: the last one, or a new one in its place when it failed, idled, or ended. */
  current(): RedisConnection {
    if (this.#closed) throw new StoreUnavailableError('Redis connection closed');
    let connection = this.#current;
    if (connection && !connection.retired && connection.idleMs() > this.#options.maxIdleMs) {
      // A frozen Lambda instance or a quiet network may have lost this connection without a word.
      logger.debug('replacing an idle Redis connection', { idleMs: connection.idleMs() });
      connection.retire();
    }
    if (connection?.verified && !connection.retired && !connection.writable) {
      // Its socket has ended (Redis or the network closed it) before ioredis said so: a new one.
      connection.retire();
    }
    if (!connection || connection.retired) {
      connection = this.#open();
      this.#current = connection;
    }
    return connection;
  }

  /** `connection` once it has passed its ready check, within the timeout (see ready()). */
  async whenReady(connection: RedisConnection): Promise<RedisConnection> {
    if (connection.verified) return connection;
    const { timeoutMs } = this.#options;
    // A request that joins an attempt under way waits only for what is left of the attempt's own
    // time: an attempt that hung in a fault that has since healed is then given up when it is due,
    // and the next request opens a new one, instead of waiting a full timeout more on it.
    await withinDeadline(
      connection.opened,
      timeoutMs,
      () => connection.fail(new StoreUnavailableError(`Redis connection not ready within ${timeoutMs} ms`)),
      () => connection.steps,
      Math.max(0, connection.lastStepAt + timeoutMs - Date.now()),
    );
    return connection;
  }

  /**
   * Requests from now on use a new connection instead of `connection`, if it is still the current
   * one: for a request asked again because its first ask is still unanswered there (an attempt left
   * hanging by a fault that has since healed, replies queued behind a delay). `connection` keeps the
   * requests it has, and is closed once they have settled.
   */
  supersede(connection: RedisConnection): void {
    if (this.#closed || connection !== this.#current || connection.retired) return;
    this.#current = this.#open();
    connection.retireWhenIdle();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#current;
    if (!connection || connection.retired) return;
    connection.retired = true;
    await connection.client.quit().catch(() => connection.client.disconnect());
  }

  #open(): RedisConnection {
    const client = new Redis(this.#options.url, { ...CLIENT_OPTIONS, ...this.#options.clientOptions });
    this.#prepare(client);
    return new RedisConnection(client, {
      timeoutMs: this.#options.timeoutMs,
      health: this.#health,
      password: this.#password,
      setUp: this.#setUp,
    });
  }
}

/** One TCP connection to Redis, from connect to retirement. It is never reconnected: a new one replaces it. */
export class RedisConnection {
  /** Resolves once the connection has passed the ready check in the right database, and the store's set-up. */
  readonly opened: Promise<void>;
  /** Counts the steps a connection attempt has made, so a slow but moving attempt is not abandoned. */
  steps = 0;
  /** When the attempt began or last made a step (epoch ms). */
  lastStepAt = Date.now();
  /** Set once `opened` resolved: the connection is in the right database, and set up. */
  verified = false;
  retired = false;
  #lastUsedAt = Date.now();
  /** Commands sent and not yet settled. */
  #inFlight = 0;
  /** Set when superseded: retired once no request uses it. */
  #retiring = false;
  /** Why this connection was given up, if it was: what every request still waiting for it is told. */
  #givenUpFor: StoreUnavailableError | undefined;
  readonly #timeoutMs: number;
  readonly #health: ConnectionHealth;
  readonly #password: string;

  constructor(
    readonly client: Redis,
    {
      timeoutMs,
      health,
      password,
      setUp,
    }: { timeoutMs: number; health: ConnectionHealth; password: string; setUp?: ConnectionSetUp | undefined },
  ) {
    this.#timeoutMs = timeoutMs;
    this.#health = health;
    this.#password = password;
    this.opened = this.#readyCheck().then(async () => {
      if (setUp) await this.#setUp(setUp);
      this.verified = true;
      health.ready();
    });
    // A superseded attempt that opens serves the requests that were waiting for it, then goes. (A
    // rejection nobody awaits, when no request was waiting, is expected, not a crash.)
    this.opened.then(
      () => this.#retireIfIdle(),
      () => {},
    );
  }

  idleMs(): number {
    return Date.now() - this.#lastUsedAt;
  }

  /**
   * Whether a command given to ioredis now is written to the socket. When it is not (the socket has
   * ended, or closed), ioredis refuses it without sending it: nothing can have been applied.
   */
  get writable(): boolean {
    const { stream, status } = this.client;
    return status === 'ready' && stream !== undefined && stream.writable && !stream.writableEnded;
  }

  /** The store's set-up, its failure a StoreUnavailableError: nothing a request asked for was sent yet. */
  async #setUp(setUp: ConnectionSetUp): Promise<void> {
    try {
      await setUp(this);
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw this.fail(error);
      const problem = isReplyError(error) ? explainReplyError(error.message).problem : 'Redis connection failed';
      throw this.fail(new StoreUnavailableError(problem, { cause: error }));
    }
  }

  /**
   * Awaits one command that was written at `deadline - timeoutMs`, until the deadline. Every failure
   * is a StoreUnavailableError that says what happened, a ReplyLostError when the command may have
   * run; a connection that timed out, or that Redis says is the wrong one to write to, is retired.
   */
  async reply<T>(command: Promise<T>): Promise<T> {
    this.#inFlight += 1;
    try {
      const reply = await withinDeadline(command, this.#timeoutMs, () =>
        this.fail(new ReplyLostError(`Redis did not answer within ${this.#timeoutMs} ms; reconnecting`)),
      );
      this.#lastUsedAt = Date.now();
      return reply;
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      if (error instanceof Error && error.message.startsWith(NOT_WRITTEN)) {
        // ioredis refused it without writing it (the socket had ended): it cannot have run.
        this.retire();
        throw new StoreUnavailableError('Redis connection closed before the command was sent', { cause: error });
      }
      if (!isReplyError(error)) {
        // Written, maybe run, maybe still on its way: a connection closed under it is not one Redis closed.
        this.retire();
        throw new ReplyLostError('Redis connection failed', { cause: error });
      }
      this.#lastUsedAt = Date.now();
      const { problem, reconnect } = explainReplyError(error.message);
      if (reconnect) this.retire();
      throw new StoreUnavailableError(problem, { cause: error });
    } finally {
      this.#inFlight -= 1;
      this.#retireIfIdle();
    }
  }

  /** Retired as soon as no request uses it: it has been superseded (see RedisConnector.supersede). */
  retireWhenIdle(): void {
    this.#retiring = true;
    // An attempt still opening is left to the requests waiting for it (see the constructor).
    if (this.verified) this.#retireIfIdle();
  }

  #retireIfIdle(): void {
    if (!this.#retiring) return;
    // Checked after this turn: a request handed this connection sends its command within the turn.
    setImmediate(() => {
      if (this.#inFlight === 0) this.retire();
    });
  }

  /** Gives up on this connection: says so (once per outage) and retires it. */
  fail<E extends StoreUnavailableError>(error: E): E {
    this.#givenUpFor ??= error;
    this.#health.failed(error);
    this.retire();
    return error;
  }

  #step(): void {
    this.steps += 1;
    this.lastStepAt = Date.now();
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.client.disconnect();
  }

  #readyCheck(): Promise<void> {
    const { client } = this;
    const health = this.#health;
    return new Promise<void>((resolve, reject) => {
      let lastError: unknown;
      let refusedDatabase: unknown;
      let refusedCredentials: StoreUnavailableError | undefined;
      // A host name's DNS lookup is a step too: in a container (REDIS_URL=redis://redis:6379) on a
      // busy machine it can take longer than the timeout. The socket exists once 'connecting' has
      // been emitted and the connector's promise has settled: look for it after this turn.
      client.once('connecting', () => setImmediate(() => client.stream?.once('lookup', () => this.#step())));
      client.on('connect', () => {
        this.#step();
        // Each reply of the handshake (CLIENT SETINFO, SELECT, INFO) is a step too: in a busy
        // process they can take several event-loop turns, each longer than the timeout.
        const step = () => this.#step();
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
          health.failed(refusedCredentials ?? error);
        }
      });
      client.once('ready', () => {
        if (refusedDatabase === undefined) {
          resolve();
          return;
        }
        reject(
          this.fail(
            new StoreUnavailableError(
              `REDIS_URL names database ${client.options.db}, which this Redis refuses; use one it has (0 on ElastiCache)`,
              { cause: refusedDatabase },
            ),
          ),
        );
      });
      client.once('end', () => {
        this.retired = true;
        reject(
          refusedCredentials ??
            this.#givenUpFor ??
            new StoreUnavailableError('Redis connection failed', { cause: lastError }),
        );
      });
    });
  }
}

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
