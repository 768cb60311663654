import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RedisCounterStore } from '../../lib/counter/redis';
import { RedisConnector } from '../../lib/counter/redis-connection';
import { logger } from '../../lib/telemetry';
import { captureOutput } from '../support/lambda-events';
import { type Stack, startStack } from '../support/stack';
import { ROOMY_TIMEOUT_MS, storeOutcome } from '../support/store-outcome';

const TIMEOUT_MS = 200;
const KEY = 'faults:count';

// One Redis connection's life, in this process, behind the fault proxy: kept while it is used,
// replaced when idle too long or closed by Redis, refused after close(), and an outage logged once.
// What each fault does to a call is in store-faults.test.ts.
describe('Class: RedisCounterStore, its connection', () => {
  let stack: Stack<'redis'>;
  let store: RedisCounterStore;
  let output: ReturnType<typeof captureOutput>;

  const openStore = async (options: { maxIdleMs?: number; timeoutMs?: number } = {}) => {
    store = await stack.newStore({ timeoutMs: TIMEOUT_MS, ...options });
    await store.start(KEY, 60_000);
    output.clear();
  };

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', proxy: true, offline: false });
    logger.setLogLevel('DEBUG');
  });

  beforeEach(() => {
    output = captureOutput();
  });

  afterEach(async () => {
    await store?.close(); // its connection would log the next test's faults
    await stack.heal();
    output.stop();
  });

  afterAll(async () => {
    logger.setLogLevel('SILENT');
    await stack?.stop();
  });

  it('replaces a connection idle longer than the limit before using it, and says so at DEBUG', async () => {
    await openStore({ maxIdleMs: 100, timeoutMs: ROOMY_TIMEOUT_MS });
    await sleep(150);
    stack.proxy.blackholeExisting();
    expect(await store.increment(KEY)).toBe(2);
    expect(output.lines()).toEqual([
      expect.objectContaining({
        level: 'DEBUG',
        message: 'replacing an idle Redis connection',
        idleMs: expect.any(Number),
      }),
    ]);
  });

  it('keeps using a connection idle up to the limit', async () => {
    await openStore({ maxIdleMs: 2_000 });
    const accepted = stack.proxy.accepted;
    await sleep(100);
    expect(await store.increment(KEY)).toBe(2);
    expect(stack.proxy.accepted).toBe(accepted);
  });

  it('waits for a new connection that is slow but moving (each handshake reply takes most of the timeout)', async () => {
    // A round trip takes 60% of the timeout; the handshake takes several. The timeout is 500 ms
    // here so that the 40% left over (200 ms) is more than a busy machine's pause.
    stack.proxy.setLatency(150);
    store = await stack.newStore({ timeoutMs: 500 });
    expect(await store.start(KEY, 60_000)).toBe(1);
    expect(await store.increment(KEY)).toBe(2);
  });

  it('opens a new connection at once after Redis closed the last one, instead of waiting for ioredis to reconnect', async () => {
    await openStore();
    await stack.inspector.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await sleep(20); // the close has reached the client
    expect(await store.increment(KEY)).toBe(2);
  });

  it('gives up a connection attempt that hangs when it is due, also for a request that joined it late, then opens a new one', async () => {
    // Prepare: a connection attempt that hangs (the handshake is never answered), begun 300 ms ago.
    await openStore({ timeoutMs: 500 });
    stack.proxy.setNewConnections('hang');
    stack.proxy.resetAll();
    await sleep(20); // the reset has reached the client
    const first = storeOutcome(store.increment(KEY));
    await sleep(300);
    stack.proxy.heal(); // new connections are answered again; the hung one stays hung
    // Act: a request joins the hung attempt.
    const joined = await storeOutcome(store.increment(KEY));
    // Assess: it waited for what was left of the attempt's 500 ms, not 500 ms more.
    expect(joined.error).toBe('Redis connection not ready within 500 ms');
    expect(joined.ms).toBeLessThan(450);
    expect((await first).error).toBe('Redis connection not ready within 500 ms');
    expect(await store.increment(KEY)).toBe(2);
  });

  it('hands out a new connection in place of a superseded one, which finishes the command it has in flight and then closes', async () => {
    // Prepare: a connector's ready connection, and replies that take a while
    const connector = new RedisConnector(
      { url: stack.env.REDIS_URL as string, timeoutMs: ROOMY_TIMEOUT_MS, maxIdleMs: 60_000 },
      () => {},
    );
    try {
      const superseded = await connector.ready();
      const connectionsBefore = stack.proxy.connections;
      stack.proxy.setLatency(100);
      const inFlight = superseded.reply(superseded.client.ping());
      // Act
      connector.supersede(superseded);
      const next = await connector.ready();
      // Assess: the new connection serves, the old one answers what it was asked, then goes
      expect(next).not.toBe(superseded);
      expect(await next.reply(next.client.ping())).toBe('PONG');
      expect(await inFlight).toBe('PONG');
      await sleep(50);
      expect(superseded.retired).toBe(true);
      expect(stack.proxy.connections).toBe(connectionsBefore);
    } finally {
      await connector.close();
    }
  });

  it('refuses every request after close', async () => {
    await openStore();
    await store.close();
    expect((await storeOutcome(store.increment(KEY))).error).toBe('Redis connection closed');
  });

  it('logs one warning when the connection is lost and one line when a new one is ready, not one per request', async () => {
    await openStore();
    stack.proxy.setNewConnections('refuse');
    stack.proxy.resetAll();
    await sleep(20);
    for (let i = 0; i < 3; i += 1) await storeOutcome(store.increment(KEY));
    stack.proxy.heal();
    expect(await store.increment(KEY)).toBe(2);
    const logged = output.lines().map((line) => `${line.level} ${line.message}`);
    expect(logged.filter((line) => !line.startsWith('DEBUG'))).toEqual([
      'WARN Redis connection lost',
      'INFO Redis connection ready again',
    ]);
  });
});
