import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KEY_ATTRIBUTE } from '../../lib/counter/dynamodb';
import { HELLO_KEY } from '../../lib/hello';
import { throttledReply } from '../support/dynalite';
import type { FaultProxy } from '../support/fault-proxy';
import type { OfflineOptions } from '../support/offline';
import { type Stack, startStack } from '../support/stack';

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

/** Faults of the store's process, the same for every store: killed (its data lost) and frozen. */
function serverFaults(server: Stack<'redis' | 'dynamodb'>['server']): Record<string, Fault> {
  return {
    kill: fault(
      true,
      () => server.stop(),
      () => server.restart(),
    ),
    freeze: fault(
      false,
      () => server.freeze(),
      () => server.thaw(),
    ),
  };
}

export async function redisTarget(): Promise<ChaosTarget> {
  const stack = await startStack({ store: 'redis', proxy: true, offline: false });
  const redis = stack.server;
  // Answers within the load's pace or not at all, whatever Redis is going through.
  const inspector = redis.client({ maxRetriesPerRequest: 0, commandTimeout: 500, enableOfflineQueue: false });
  return {
    store: 'redis',
    exactFailures: true,
    env: stack.env,
    faults: {
      ...networkFaults(stack.proxy),
      ...serverFaults(redis),
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
      await stack.stop();
    },
  };
}

export async function dynamoDbTarget(): Promise<ChaosTarget> {
  const stack = await startStack({ store: 'dynamodb', proxy: true, offline: false });
  const dynalite = stack.server;
  const key = { [KEY_ATTRIBUTE]: { S: HELLO_KEY } };
  return {
    store: 'dynamodb',
    exactFailures: true,
    env: stack.env,
    faults: {
      ...networkFaults(stack.proxy),
      ...serverFaults(dynalite),
      flush: fault(
        true,
        () => dynalite.client.send(new DeleteItemCommand({ TableName: dynalite.table, Key: key })),
        () => {},
      ),
      throttle: fault(
        false,
        () => stack.proxy.setCannedReply(throttledReply('ThrottlingException')),
        () => stack.proxy.heal(),
      ),
    },
    async keyWithoutExpiry() {
      try {
        const { Item } = await dynalite.client.send(new GetItemCommand({ TableName: dynalite.table, Key: key }), {
          abortSignal: AbortSignal.timeout(500),
        });
        return Item !== undefined && (Item.closesAt === undefined || Item.expiresAt === undefined);
      } catch {
        return undefined;
      }
    },
    stop: () => stack.stop(),
  };
}
