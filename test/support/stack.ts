import type { Redis } from 'ioredis';
import type { DynamoDbCounterStore } from '../../lib/counter/dynamodb';
import type { MemoryCounterStore } from '../../lib/counter/memory';
import type { RedisCounterStore } from '../../lib/counter/redis';
import { HELLO_KEY } from '../../lib/hello';
import { DynaliteProcess } from './dynalite';
import { FaultProxy } from './fault-proxy';
import { type Offline, type OfflineOptions, startOffline } from './offline';
import { TestRedisServer } from './redis-server';

export type StoreKind = 'redis' | 'dynamodb' | 'memory';

/** The store's server process: redis-server or dynalite; the memory store has none. */
interface Servers {
  redis: TestRedisServer;
  dynamodb: DynaliteProcess;
  memory: never;
}
/** A client of the server itself (never through the proxy), for assertions. */
interface Inspectors {
  redis: Redis;
  dynamodb: DynaliteProcess['client'];
  memory: never;
}
/** The adapter of each kind, as the service builds it. */
interface Adapters {
  redis: RedisCounterStore;
  dynamodb: DynamoDbCounterStore;
  memory: MemoryCounterStore;
}

export interface StackOptions<K extends StoreKind> {
  store: K;
  /** Puts the fault proxy (test/support/fault-proxy.ts) between the service and the store. */
  proxy?: boolean;
  /** A password redis-server requires (REDIS_URL carries it). */
  password?: string;
  /** The functions' environment besides the store's variables (HELLO_WINDOW_SECONDS, LOG_LEVEL, ...). */
  env?: OfflineOptions['env'];
  /**
   * serverless-offline: started with the stack (true, the default, or its options), or not (false):
   * for a file that calls the code in its own process, or starts it later with startOffline().
   */
  offline?: boolean | Omit<OfflineOptions, 'env'>;
}

/**
 * The store a test needs (redis-server, dynalite or none), the fault proxy in front of it or not,
 * and serverless-offline configured for it, or the same store for the code in this process.
 * Every e2e and in-process file starts its stack here; stop() ends all of it.
 */
export async function startStack<K extends StoreKind>(options: StackOptions<K>): Promise<Stack<K>> {
  const stack = new Stack(options);
  try {
    await stack.start();
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

export class Stack<K extends StoreKind> {
  readonly kind: K;
  #server: TestRedisServer | DynaliteProcess | undefined;
  #inspector: Redis | undefined;
  #proxy: FaultProxy | undefined;
  #offline: Offline | undefined;
  readonly #adapters: Adapters[StoreKind][] = [];

  constructor(readonly options: StackOptions<K>) {
    this.kind = options.store;
  }

  /** @internal startStack's */
  async start(): Promise<void> {
    const { store, proxy, password, offline = true } = this.options;
    if (store === 'redis') {
      const redis = await TestRedisServer.start(password === undefined ? {} : { password });
      this.#server = redis;
      this.#inspector = redis.client();
    } else if (store === 'dynamodb') {
      this.#server = await DynaliteProcess.start();
    }
    if (proxy) {
      if (!this.#server) throw new Error('the memory store has no connection to put a fault proxy on');
      this.#proxy = await FaultProxy.start(this.#server.port);
    }
    if (offline) await this.startOffline(offline === true ? {} : offline);
  }

  /** The store's variables, as the service reads them (through the proxy when there is one), and the options' env. */
  get env(): OfflineOptions['env'] {
    return { ...this.#storeEnv(), ...this.options.env };
  }

  #storeEnv(): OfflineOptions['env'] {
    const server = this.#server;
    if (server instanceof TestRedisServer) {
      return { COUNTER_STORE: 'redis', REDIS_URL: this.#proxy ? this.#proxy.rewrite(server.url) : server.url };
    }
    if (server instanceof DynaliteProcess) {
      const port = this.#proxy ? this.#proxy.port : server.port;
      return { COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: server.table, DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` };
    }
    return {};
  }

  get server(): Servers[K] {
    if (!this.#server) throw new Error('the memory store has no server');
    return this.#server as Servers[K];
  }

  get inspector(): Inspectors[K] {
    const server = this.#server;
    if (server instanceof DynaliteProcess) return server.client as Inspectors[K];
    if (!this.#inspector) throw new Error('the memory store has no server to inspect');
    return this.#inspector as Inspectors[K];
  }

  get proxy(): FaultProxy {
    if (!this.#proxy) throw new Error('this stack has no fault proxy: start it with proxy: true');
    return this.#proxy;
  }

  get offline(): Offline {
    if (!this.#offline)
      throw new Error('this stack has no serverless-offline: start it with offline, or startOffline()');
    return this.#offline;
  }

  /** Starts serverless-offline for this store (once). */
  async startOffline(options: Omit<OfflineOptions, 'env'> = {}): Promise<Offline> {
    this.#offline ??= await startOffline({ ...options, env: this.env });
    return this.#offline;
  }

  /** The count the store holds under `key` (as the service wrote it, window open or not), or null when it holds none. */
  async stored(key = HELLO_KEY): Promise<number | null> {
    const server = this.#server;
    if (server instanceof DynaliteProcess) {
      const count = (await server.item(key))?.count?.N;
      return count === undefined ? null : Number(count);
    }
    const value = await (this.inspector as Redis).get(key);
    return value === null ? null : Number(value);
  }

  /**
   * An adapter in this process that reaches the store as the service does; stop() closes it. Loaded
   * when first asked for, as the service loads it: a file that imports the handlers configures their
   * logger through the environment first.
   */
  async newStore({
    timeoutMs = 500,
    maxIdleMs = 60_000,
  }: {
    timeoutMs?: number;
    maxIdleMs?: number;
  } = {}): Promise<Adapters[K]> {
    const env = this.#storeEnv();
    const server = this.#server;
    let adapter: Adapters[StoreKind];
    if (server instanceof TestRedisServer) {
      const { RedisCounterStore } = await import('../../lib/counter/redis');
      adapter = new RedisCounterStore({ url: env.REDIS_URL as string, timeoutMs, maxIdleMs });
    } else if (server instanceof DynaliteProcess) {
      const { DynamoDbCounterStore } = await import('../../lib/counter/dynamodb');
      adapter = new DynamoDbCounterStore({
        table: server.table,
        endpoint: env.DYNAMODB_ENDPOINT,
        timeoutMs,
        maxIdleMs,
      });
    } else {
      const { MemoryCounterStore } = await import('../../lib/counter/memory');
      adapter = new MemoryCounterStore();
    }
    this.#adapters.push(adapter);
    return adapter as Adapters[K];
  }

  /** Undoes every fault: the proxy forwards everything again, and the server runs and answers. */
  async heal(): Promise<void> {
    this.#proxy?.heal();
    this.#server?.thaw();
    if (this.#server && !this.#server.running) await this.#server.restart();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#adapters.splice(0).map((adapter) => ('close' in adapter ? adapter.close() : undefined)));
    await this.#offline?.stop();
    await this.#proxy?.stop();
    // disconnect, not quit: QUIT waits for a reply that a stopped Redis never sends.
    this.#inspector?.disconnect();
    await this.#server?.stop();
    if (this.#server instanceof DynaliteProcess) this.#server.client.destroy();
  }
}
