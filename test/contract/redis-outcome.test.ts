import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineCounterCommands, RedisCounterStore } from '../../lib/counter/redis';
import { outcomeKey } from '../../lib/counter/redis-outcome';
import { sleep } from '../support/free-port';
import { TestRedisServer } from '../support/redis-server';

const KEY = 'outcome:count';
const TIMEOUT_MS = 2_000;

// The scripts themselves, against redis-server: what a write leaves behind for a lookup, and what
// the lookup leaves behind for a write that is still on its way.
describe('Redis scripts: the outcome each write records, and the lookup that settles a lost one', () => {
  let redis: TestRedisServer;
  let client: Redis;
  let inspector: Redis;
  const future = () => Date.now() + 60_000;

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

  it('records the number an increment got under its request id, until the time it is given', async () => {
    await client.openWindow(KEY, outcomeKey(KEY, 'a'), future(), Date.now() + 5_000, 60_000);
    expect(await client.incrementWhileOpen(KEY, outcomeKey(KEY, 'b'), future(), Date.now() + 5_000)).toBe(2);
    expect(await inspector.get(outcomeKey(KEY, 'a'))).toBe('1');
    expect(await inspector.get(outcomeKey(KEY, 'b'))).toBe('2');
    const ttl = await inspector.pttl(outcomeKey(KEY, 'b'));
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  it('records nothing for an increment after the window closed', async () => {
    expect(await client.incrementWhileOpen(KEY, outcomeKey(KEY, 'c'), future(), future())).toBeNull();
    expect(await inspector.exists(outcomeKey(KEY, 'c'))).toBe(0);
  });

  it('reads a recorded number back', async () => {
    await client.openWindow(KEY, outcomeKey(KEY, 'a'), future(), future(), 60_000);
    await client.incrementWhileOpen(KEY, outcomeKey(KEY, 'b'), future(), future());
    expect(await client.settleOutcome(outcomeKey(KEY, 'b'), future(), future())).toBe(2);
  });

  it('settles a write it finds no record of as not applied, and the write then refuses itself if it still arrives', async () => {
    await client.openWindow(KEY, outcomeKey(KEY, 'a'), future(), future(), 60_000);
    const deadline = future();
    expect(await client.settleOutcome(outcomeKey(KEY, 'late'), deadline, deadline + 6_000)).toBe(0);
    // The write, held on its way, arrives before its deadline: after the lookup, it must do nothing.
    expect(await client.incrementWhileOpen(KEY, outcomeKey(KEY, 'late'), deadline, deadline + 6_000)).toBe(-1);
    expect(await client.openWindow(KEY, outcomeKey(KEY, 'late'), deadline, deadline + 6_000, 60_000)).toBe(-1);
    expect(await inspector.get(KEY)).toBe('1');
    expect(await client.settleOutcome(outcomeKey(KEY, 'late'), deadline, deadline + 6_000)).toBe(0);
  });

  it('says it is too late to tell once a record could have expired', async () => {
    const deadline = Date.now() - 1_000;
    expect(await client.settleOutcome(outcomeKey(KEY, 'old'), deadline, deadline + 500)).toBe(-2);
    expect(await inspector.exists(outcomeKey(KEY, 'old'))).toBe(0);
  });

  it('leaves no marker once the deadline has passed: the write refuses itself by then', async () => {
    const deadline = Date.now() - 10;
    expect(await client.settleOutcome(outcomeKey(KEY, 'past'), deadline, deadline + 6_000)).toBe(0);
    expect(await inspector.exists(outcomeKey(KEY, 'past'))).toBe(0);
  });

  it('lets the records expire: nothing is left a little after the deadline', async () => {
    const store = new RedisCounterStore({ url: redis.url, timeoutMs: 50, maxIdleMs: 60_000 });
    await store.start(KEY, 60_000);
    for (let i = 0; i < 10; i += 1) await store.increment(KEY);
    expect(await inspector.keys(`{${KEY}}:outcome:*`)).toHaveLength(11);
    await sleep(50 * 4 + 100);
    expect(await inspector.keys(`{${KEY}}:outcome:*`)).toHaveLength(0);
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
    expect(await client.settleOutcome(outcomeKey('hello:count', 'x'), Date.now() + 1_000, Date.now() + 2_000)).toBe(0);
    client.disconnect();
    expect(await inspector.get('hello:count')).toBe('2');
  });
});
