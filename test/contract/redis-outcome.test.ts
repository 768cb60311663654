import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineCounterCommands, RedisCounterStore, RING_KEPT_MS, RING_SLOTS } from '../../lib/counter/redis';
import { TestRedisServer } from '../support/redis-server';

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
