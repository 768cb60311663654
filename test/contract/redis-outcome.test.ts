import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineCounterCommands, RedisCounterStore, RING_KEPT_MS, RING_SLOTS } from '../../lib/counter/redis';

import { TestRedisServer } from '../support/redis-server';
import { type Stack, startStack } from '../support/stack';
import { storeOutcome, warningsWhile } from '../support/store-outcome';

const KEY = 'outcome:count';
const RING = `{${KEY}}:outcomes:test`;
const TIMEOUT_MS = 2_000;

// The scripts themselves, against redis-server: what a write leaves behind, and what a lookup reads.
describe("Redis scripts: the outcome each write records in its connection's ring, and the lookup", () => {
  let redis: TestRedisServer;
  let client: Redis;
  let inspector: Redis;
  const future = () => Date.now() + 60_000;
  const past = () => Date.now() - 1;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    client = redis.client();
    defineCounterCommands(client);
    inspector = redis.client();
  });

  beforeEach(async () => {
    await inspector.flushall();
  });

  afterAll(async () => {
    client?.disconnect();
    await inspector?.quit();
    await redis?.stop();
  });

  it('records each number under its seq, and reads it back once the deadline has passed', async () => {
    await client.openWindow(KEY, RING, future(), 1, '1', 60_000);
    expect(await client.incrementWhileOpen(KEY, RING, future(), 2, '0')).toBe(2);
    expect(await client.readOutcome(RING, past(), 1)).toBe(1);
    expect(await client.readOutcome(RING, past(), 2)).toBe(2);
  });

  it('keeps the ring a fixed size with an expiry of a minute, renewed when asked', async () => {
    await client.openWindow(KEY, RING, future(), 1, '1', 60_000);
    for (let seq = 2; seq <= 3 * RING_SLOTS; seq += 1) await client.incrementWhileOpen(KEY, RING, future(), seq, '0');
    expect(await inspector.strlen(RING)).toBe(16 * RING_SLOTS);
    const ttl = await inspector.pttl(RING);
    expect(ttl).toBeGreaterThan(RING_KEPT_MS - 10_000);
    expect(ttl).toBeLessThanOrEqual(RING_KEPT_MS);
  });

  it('gives a ring made anew an expiry even when the write does not renew it (after a flush, say)', async () => {
    await client.set(KEY, 1, 'PX', 60_000);
    await client.incrementWhileOpen(KEY, RING, future(), 7, '0');
    expect(await inspector.pttl(RING)).toBeGreaterThan(RING_KEPT_MS - 10_000);
  });

  it('says a write it finds no record of was not applied: an increment after the window closed', async () => {
    await client.openWindow(KEY, RING, future(), 1, '1', 60_000);
    await inspector.del(KEY);
    expect(await client.incrementWhileOpen(KEY, RING, future(), 2, '0')).toBeNull();
    expect(await client.readOutcome(RING, past(), 2)).toBe(0);
  });

  it('creates a ring of one zeroed slot with the expiry of a ring, and renews one that exists without changing it', async () => {
    expect(await client.createRing(RING)).toBe(1);
    expect(await inspector.getBuffer(RING)).toEqual(Buffer.alloc(16));
    expect(await inspector.pttl(RING)).toBeGreaterThan(RING_KEPT_MS - 10_000);
    // A write's record is kept; a lookup of a seq it never saw reads "not applied".
    await client.openWindow(KEY, RING, future(), 1, '0', 60_000);
    await inspector.pexpire(RING, 1_000);
    await client.createRing(RING);
    expect(await inspector.pttl(RING)).toBeGreaterThan(RING_KEPT_MS - 10_000);
    expect(await client.readOutcome(RING, past(), 1)).toBe(1);
    expect(await client.readOutcome(RING, past(), RING_SLOTS)).toBe(0);
  });

  it('makes the ring anew, zeroed, when an increment finds the window closed and the ring gone (a flush)', async () => {
    await client.openWindow(KEY, RING, future(), 1, '1', 60_000);
    await inspector.flushall();
    expect(await client.incrementWhileOpen(KEY, RING, future(), 2, '0')).toBeNull();
    expect(await inspector.pttl(RING)).toBeGreaterThan(RING_KEPT_MS - 10_000);
    // A later write of this connection whose reply is lost, and which never arrived: not applied.
    expect(await client.readOutcome(RING, past(), 3)).toBe(0);
  });

  it('cannot tell when the ring is gone (evicted, flushed, or lost with the data)', async () => {
    await client.openWindow(KEY, RING, future(), 1, '1', 60_000);
    await inspector.del(RING);
    expect(await client.readOutcome(RING, past(), 1)).toBe(-3);
  });

  it('says a write that never arrived was not applied, though later ones were', async () => {
    await client.openWindow(KEY, RING, future(), 1, '1', 60_000);
    await client.incrementWhileOpen(KEY, RING, future(), 3, '0');
    expect(await client.readOutcome(RING, past(), 2)).toBe(0);
  });

  it('refuses to read before the deadline has passed on its clock, saying how long to wait', async () => {
    const reply = await client.readOutcome(RING, Date.now() + 300, 1);
    expect(reply).toBeLessThanOrEqual(-1_000_000 - 250);
    expect(reply).toBeGreaterThanOrEqual(-1_000_000 - 301);
  });

  it('says a record was overwritten when a write a whole ring later took its slot', async () => {
    await client.openWindow(KEY, RING, future(), 1, '1', 60_000);
    await client.incrementWhileOpen(KEY, RING, future(), 1 + RING_SLOTS, '0');
    expect(await client.readOutcome(RING, past(), 1)).toBe(-2);
  });
});

describe('Class: RedisCounterStore, its rings of outcomes', () => {
  let redis: TestRedisServer;
  let inspector: Redis;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    inspector = redis.client();
  });

  afterAll(async () => {
    await inspector?.quit();
    await redis?.stop();
  });

  const rings = () => inspector.keys(`{${KEY}}:outcomes:*`);

  it("creates each counter's ring when a connection opens, before any write is sent on it", async () => {
    const store = new RedisCounterStore({
      url: redis.url,
      timeoutMs: TIMEOUT_MS,
      maxIdleMs: 60_000,
      counterKeys: [KEY],
    });
    await store.ping(); // the connection is ready: nothing written yet
    const [ring, ...others] = await rings();
    expect(others).toEqual([]);
    expect(await inspector.strlen(ring as string)).toBe(16);
    expect(await inspector.get(KEY)).toBeNull();
    await store.close();
  });

  it('creates the ring of a counter it was not told of before its first write, and again after a flush', async () => {
    await inspector.flushall();
    const store = new RedisCounterStore({ url: redis.url, timeoutMs: TIMEOUT_MS, maxIdleMs: 60_000 });
    expect(await store.start(KEY, 60_000)).toBe(1);
    expect(await rings()).toHaveLength(1);
    await inspector.flushall();
    expect(await store.start(KEY, 60_000)).toBe(1);
    // The flushed ring is made anew by the write (with an expiry): its record can be read.
    const [ring] = await rings();
    expect(await inspector.pttl(ring as string)).toBeGreaterThan(0);
    await store.close();
  });
});

// The store's side of it, in this process, behind the fault proxy: what a request whose reply was
// lost is answered, from what its lookup finds in the ring, and what the ring's expiry is while its
// connection keeps writing.
describe('Class: RedisCounterStore, settling lost replies from its ring', () => {
  const T = 300;
  let stack: Stack<'redis'>;
  /** The rings Redis holds for KEY's writes. */
  const rings = () => stack.inspector.keys(`{${KEY}}:outcomes:*`);

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', proxy: true, offline: false });
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await stack.heal();
    await stack.inspector.flushall();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("says the outcome is unknown when the connection's record is gone before the lookup (evicted, flushed)", async () => {
    // Prepare: a window at 1; the next write is applied, and its reply lost
    const store = await stack.newStore({ timeoutMs: T });
    const startedAt = Date.now();
    await store.start(KEY, 60_000);
    stack.proxy.loseRepliesOnExisting();
    const scriptsBefore = await scriptCalls(stack.inspector);
    // Act: the ring goes while the request waits for its reply
    const writtenAt = Date.now();
    const called = storeOutcome(store.increment(KEY));
    await sleep(T / 2);
    await stack.inspector.del(...(await rings()));
    const outcome = await called;
    // Assess
    const destroyed = new RegExp(
      `^Redis did not answer within ${T} ms; reconnecting, and its connection's record of outcomes was destroyed \\(flushed, evicted, or lost with the store's data\\) since (\\S+), when it was last seen$`,
    );
    expect(outcome.error).toMatch(destroyed);
    // Last seen when the write before was sent: what it was destroyed after.
    const seenAt = Date.parse(destroyed.exec(outcome.error ?? '')?.[1] ?? '');
    expect(seenAt).toBeGreaterThanOrEqual(startedAt);
    expect(seenAt).toBeLessThanOrEqual(writtenAt);
    expect(await stack.inspector.get(KEY)).toBe('2');
    // The write, the ring the new connection makes as it opens, and one lookup: with one clock for
    // both, the first lookup comes after the deadline on Redis's.
    expect((await scriptCalls(stack.inspector)) - scriptsBefore).toBe(3);
  });

  it('settles a lost reply when its lookup began while new connections hung: it asks again on a new connection once they are answered', async () => {
    // Prepare: a window at 1; the next write is applied and its reply lost, and new connections hang
    const store = await stack.newStore({ timeoutMs: T });
    await store.start(KEY, 60_000);
    stack.proxy.loseRepliesOnExisting();
    stack.proxy.setNewConnections('hang');
    const acceptedBefore = stack.proxy.accepted;
    const connectionsBefore = stack.proxy.connections;
    // Act: new connections are answered again as soon as the lookup's first one has hung
    const called = storeOutcome(store.increment(KEY));
    while (stack.proxy.accepted === acceptedBefore) await sleep(2);
    stack.proxy.setNewConnections('forward');
    const outcome = await called;
    // Assess: the number the write got, within its lookup window, not "unknown" at the end of it
    expect(outcome).toEqual({ value: 2, ms: expect.any(Number) });
    expect(outcome.ms).toBeLessThan(2 * T);
    expect(await stack.inspector.get(KEY)).toBe('2');
    // The hung attempt is closed when it is due (a timeout after its TCP connect), not left open: the
    // store has one connection again, in place of the one that lost the reply
    const closedBy = Date.now() + 4 * T;
    while (stack.proxy.connections > connectionsBefore && Date.now() < closedBy) await sleep(10);
    expect(stack.proxy.connections).toBe(connectionsBefore);
  });

  it('answers every number of a burst whose replies are lost, but for the one whose record a later write overwrote', async () => {
    // Prepare: a window at 1; every reply on the connection is lost from now on
    const store = await stack.newStore({ timeoutMs: T });
    await store.start(KEY, 60_000);
    stack.proxy.loseRepliesOnExisting();
    // Act: one write more than the ring has slots, all on the one connection
    const outcomes = await Promise.all(
      Array.from({ length: RING_SLOTS + 1 }, () => storeOutcome(store.increment(KEY))),
    );
    // Assess: the first write (2) took the slot the last one (RING_SLOTS + 2) took again
    const unknown = outcomes.filter(({ error }) => error !== undefined).map(({ error }) => error);
    expect(unknown).toEqual([expect.stringMatching(/^Redis .*, and later writes have taken its record's place$/)]);
    const answered = outcomes.map(({ value }) => value).filter((value) => value !== undefined);
    expect(answered.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: RING_SLOTS }, (_, i) => i + 3));
    expect(await stack.inspector.get(KEY)).toBe(String(RING_SLOTS + 2));
  });

  it("waits for Redis's clock to pass the deadline when this host's runs ahead, then answers the number the write got", async () => {
    // Prepare: this host's clock reads 150 ms late, so the lookup first reaches Redis before the deadline there
    const store = await stack.newStore({ timeoutMs: T });
    await store.start(KEY, 60_000);
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 150);
    stack.proxy.loseRepliesOnExisting();
    const lookupsBefore = await scriptCalls(stack.inspector);
    // Act
    const { result: outcome, lines } = await warningsWhile(() => storeOutcome(store.increment(KEY)));
    // Assess: the number, once Redis's clock has passed the deadline, after one lookup too early and one in time
    expect(outcome.value).toBe(2);
    // (besides the warning that the connection was lost)
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Redis reply lost after the write was applied; answered from its record',
        count: 2,
      }),
    );
    expect(outcome.ms).toBeGreaterThanOrEqual(T + 150 - 5);
    // The write; the ring the new connection makes as it opens; the lookups: one too early (none when
    // this machine stalled past the deadline), one in time
    expect((await scriptCalls(stack.inspector)) - lookupsBefore).toBeLessThanOrEqual(4);
  });

  it("renews the expiry of a connection's ring every 20 s while it writes, and no more often", async () => {
    // Prepare: one ring, whose expiry has run down to 5 s
    const store = await stack.newStore({ timeoutMs: T });
    await store.start(KEY, 60_000);
    const [ring] = await rings();
    await stack.inspector.pexpire(ring as string, 5_000);
    const realNow = Date.now.bind(Date);
    const clockAt = (aheadMs: number) => vi.spyOn(Date, 'now').mockImplementation(() => realNow() + aheadMs);
    // Act, and Assess: 10 s later, the ring is left as it is; 21 s later, it is kept another minute
    clockAt(10_000);
    expect(await store.increment(KEY)).toBe(2);
    expect(await stack.inspector.pttl(ring as string)).toBeLessThanOrEqual(5_000);
    clockAt(21_000);
    expect(await store.increment(KEY)).toBe(3);
    expect(await stack.inspector.pttl(ring as string)).toBeGreaterThan(RING_KEPT_MS - 10_000);
    expect(await rings()).toEqual([ring]);
  });
});

/** How many scripts Redis has run (each write and each lookup is one). */
async function scriptCalls(inspector: Redis): Promise<number> {
  const stats = await inspector.info('commandstats');
  return [...stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((sum, [, calls]) => sum + Number(calls), 0);
}

// ElastiCache Serverless runs in cluster mode: a script may touch only keys of one hash slot, named
// in KEYS. A redis-server with cluster mode on refuses anything else with CROSSSLOT.
describe('Class: RedisCounterStore, on a Redis in cluster mode', () => {
  let redis: TestRedisServer;
  let inspector: Redis;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    await redis.stop();
    await redis.restart(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${redis.port}.conf`]);
    inspector = redis.client();
    await inspector.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    while (!String(await inspector.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) await sleep(50);
  });

  afterAll(async () => {
    await inspector?.quit();
    await redis?.stop();
  });

  it('opens, counts and settles a lost reply with every key in one hash slot', async () => {
    const store = new RedisCounterStore({ url: redis.url, timeoutMs: TIMEOUT_MS, maxIdleMs: 60_000 });
    expect(await store.start('hello:count', 60_000)).toBe(1);
    expect(await store.increment('hello:count')).toBe(2);
    await store.close();
    const client = redis.client();
    defineCounterCommands(client);
    expect(await client.readOutcome('{hello:count}:outcomes:x', Date.now() - 1, 1)).toBe(-3);
    client.disconnect();
    expect(await inspector.get('hello:count')).toBe('2');
  });
});
