import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounterStore } from '../../lib/counter/redis';
import { TestRedisServer } from '../support/redis-server';
import { describeCounterStoreContract } from './counter-store-contract';

// TEST_REDIS_URL points the suite at a Redis of your own; without it the tests start redis-server.
// Not REDIS_URL: one exported for `npm start` must not send the tests to the Redis it names.
const givenUrl = process.env.TEST_REDIS_URL;
let server: TestRedisServer | undefined;
const redisUrl = async () => {
  if (givenUrl) return givenUrl;
  server ??= await TestRedisServer.start();
  return server.url;
};

afterAll(async () => {
  await server?.stop();
});

describeCounterStoreContract('redis', async () => {
  const store = new RedisCounterStore({ url: await redisUrl(), timeoutMs: 2_000, maxIdleMs: 60_000 });
  return { store, close: () => store.close() };
});

describe('Class: RedisCounterStore', () => {
  let store: RedisCounterStore;
  let inspector: Redis;
  const key = `redis-only:${process.pid}`;

  beforeAll(async () => {
    const url = await redisUrl();
    store = new RedisCounterStore({ url, timeoutMs: 2_000, maxIdleMs: 60_000 });
    inspector = new Redis(url);
  });

  afterAll(async () => {
    await store.close();
    await inspector.quit();
  });

  it('stores the count with an expiry of the window on start', async () => {
    await store.start(key, 5_000);
    expect(await inspector.get(key)).toBe('1');
    const ttl = await inspector.pttl(key);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  it('keeps the expiry when it increments', async () => {
    await store.start(key, 5_000);
    await store.increment(key);
    expect(await inspector.get(key)).toBe('2');
    expect(await inspector.pttl(key)).toBeGreaterThan(4_000);
  });

  it('leaves no key behind when it increments a missing one', async () => {
    await inspector.del(key);
    expect(await store.increment(key)).toBeNull();
    expect(await inspector.exists(key)).toBe(0);
  });

  it('leaves no key behind after the window closes', async () => {
    await store.start(key, 100);
    await sleep(200);
    expect(await store.increment(key)).toBeNull();
    expect(await inspector.exists(key)).toBe(0);
  });

  it('does not count a key that has no expiry', async () => {
    await inspector.set(key, '7');
    expect(await store.increment(key)).toBeNull();
    expect(await inspector.get(key)).toBe('7');
  });
});
