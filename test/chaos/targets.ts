import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KEY_ATTRIBUTE } from '../../lib/counter/dynamodb-item';
import { HELLO_KEY } from '../../lib/greeting';
import { counterTable, throttledReply } from '../support/dynalite';
import { FaultProxy } from '../support/fault-proxy';
import { freePort } from '../support/free-port';
import type { OfflineOptions } from '../support/offline';
import { TestRedisServer } from '../support/redis-server';

/** A fault: applying it returns the way to heal it. */
export interface Fault {
  /** Whether it loses the store's data (so an early "Expired!" is expected). */
  dataLoss: boolean;
  apply(random: () => number): Promise<() => Promise<void>>;
}

/** A real store behind a fault proxy, with the faults that can be done to it. */
export interface ChaosTarget {
  store: 'redis' | 'dynamodb';
  /** Whether the service promises that a 503 from this store changed nothing. */
  exactFailures: boolean;
  /** The service's environment: the store, reached through the proxy. */
  env: OfflineOptions['env'];
  faults: Record<string, Fault>;
  /** Whether the counter exists without an expiry; undefined when the store could not be asked. */
  keyWithoutExpiry(): Promise<boolean | undefined>;
  stop(): Promise<void>;
}

/** A fault from what injects it and what heals it. */
function fault(dataLoss: boolean, inject: (random: () => number) => unknown, heal: () => unknown): Fault {
  return {
    dataLoss,
    async apply(random) {
      await inject(random);
      return async () => {
        await heal();
      };
    },
  };
}

/** Faults of the network between service and store, the same for every store. */
function networkFaults(proxy: FaultProxy): Record<string, Fault> {
  const heal = () => proxy.heal();
  return {
    'half-open': fault(false, () => proxy.blackholeExisting(), heal),
    reset: fault(false, () => proxy.resetAll(), heal),
    // The same, striking while replies to applied writes are on their way: 20 ms per chunk makes
    // sure some are, whatever the load's timing. These are the faults that lose replies.
    // Commands held on their way and delivered when the fault heals, after their requests gave up.
    stall: fault(false, () => proxy.stallExisting(), heal),
    'half-open-in-flight': fault(false, () => inFlight(proxy, () => proxy.blackholeExisting()), heal),
    'reset-in-flight': fault(false, () => inFlight(proxy, () => proxy.resetAll()), heal),
    latency: fault(false, (random) => proxy.setLatency(Math.round(50 + 800 * random())), heal),
    'refuse-new': fault(
      false,
      () => {
        proxy.setNewConnections('refuse');
        proxy.resetAll();
      },
      heal,
    ),
    'hang-new': fault(
      false,
      () => {
        proxy.setNewConnections('hang');
        proxy.resetAll();
      },
      heal,
    ),
  };
}

/** Slows every chunk for a moment, so commands and replies are in the proxy, then strikes. */
async function inFlight(proxy: FaultProxy, strike: () => void): Promise<void> {
  proxy.setLatency(20);
  await sleep(100);
  strike();
  proxy.setLatency(0);
}

export async function redisTarget(): Promise<ChaosTarget> {
  const redis = await TestRedisServer.start();
  const proxy = await FaultProxy.start(redis.port);
  const inspector = redis.client({ maxRetriesPerRequest: 0, commandTimeout: 500, enableOfflineQueue: false });
  return {
    store: 'redis',
    exactFailures: true,
    env: { REDIS_URL: proxy.rewrite(redis.url) },
    faults: {
      ...networkFaults(proxy),
      kill: fault(
        true,
        () => redis.stop(),
        () => redis.restart(),
      ),
      freeze: fault(
        false,
        () => redis.freeze(),
        () => redis.thaw(),
      ),
      flush: fault(
        true,
        () => inspector.flushall(),
        () => {},
      ),
    },
    async keyWithoutExpiry() {
      try {
        return (await inspector.pttl(HELLO_KEY)) === -1;
      } catch {
        return undefined;
      }
    },
    async stop() {
      inspector.disconnect();
      await proxy.stop();
      await redis.stop();
    },
  };
}

const DYNALITE_CLI = fileURLToPath(new URL('../../node_modules/dynalite/cli.js', import.meta.url));
const TABLE = 'chaos-counters';

/** dynalite in a process of its own (in memory), so it can be killed and frozen like a server. */
class DynaliteProcess {
  #child: ChildProcess | undefined;
  readonly client: DynamoDBClient;

  constructor(readonly port: number) {
    this.client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
  }

  async start(): Promise<void> {
    this.#child = spawn(process.execPath, [DYNALITE_CLI, '--port', String(this.port), '--host', '127.0.0.1'], {
      stdio: 'ignore',
    });
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        await this.client.send(counterTable(TABLE));
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`dynalite did not start on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child?.kill(signal);
  }
}

export async function dynamoDbTarget(): Promise<ChaosTarget> {
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const dynalite = new DynaliteProcess(await freePort());
  await dynalite.start();
  const proxy = await FaultProxy.start(dynalite.port);
  const key = { [KEY_ATTRIBUTE]: { S: HELLO_KEY } };
  return {
    store: 'dynamodb',
    exactFailures: true,
    env: { COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: TABLE, DYNAMODB_ENDPOINT: `http://127.0.0.1:${proxy.port}` },
    faults: {
      ...networkFaults(proxy),
      kill: fault(
        true,
        () => dynalite.stop(),
        () => dynalite.start(),
      ),
      freeze: fault(
        false,
        () => dynalite.signal('SIGSTOP'),
        () => dynalite.signal('SIGCONT'),
      ),
      flush: fault(
        true,
        () => dynalite.client.send(new DeleteItemCommand({ TableName: TABLE, Key: key })),
        () => {},
      ),
      throttle: fault(
        false,
        () => proxy.setCannedReply(throttledReply('ThrottlingException')),
        () => proxy.heal(),
      ),
    },
    async keyWithoutExpiry() {
      try {
        const { Item } = await dynalite.client.send(new GetItemCommand({ TableName: TABLE, Key: key }), {
          abortSignal: AbortSignal.timeout(500),
        });
        return Item !== undefined && (Item.closesAt === undefined || Item.expiresAt === undefined);
      } catch {
        return undefined;
      }
    },
    async stop() {
      await proxy.stop();
      await dynalite.stop();
      dynalite.client.destroy();
    },
  };
}
