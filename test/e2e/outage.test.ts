import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timedGet } from '../support/answers';
import type { Offline } from '../support/offline';
import type { TestRedisServer } from '../support/redis-server';
import { type RedisStack, startRedisStack } from '../support/redis-stack';

describe('HTTP: Redis stopped, frozen and back', () => {
  let stack: RedisStack;
  let redis: TestRedisServer;
  let offline: Offline;

  beforeAll(async () => {
    stack = await startRedisStack();
    ({ redis, offline } = stack);
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
  });

  afterAll(() => stack?.stop());

  it('answers 503 "Service Unavailable" within 1 s while Redis refuses connections', async () => {
    await redis.stop();
    for (const path of ['/hello', '/hello/again', '/hello/again']) {
      const answer = await timedGet(offline, path);
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 503, body: 'Service Unavailable' });
      expect(answer.ms).toBeLessThan(1_000);
    }
  });

  it('answers correctly again within 2 s of Redis coming back, without a restart', async () => {
    await redis.restart();
    const deadline = performance.now() + 2_000;
    let answer = await timedGet(offline, '/hello');
    while (answer.status !== 200 && performance.now() < deadline) answer = await timedGet(offline, '/hello');
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: 'Hello ELECLE 1' });
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
  });

  it('answers 503 within 2 s while Redis is frozen, and correctly once it resumes', async () => {
    redis.freeze();
    try {
      for (const path of ['/hello/again', '/hello']) {
        const answer = await timedGet(offline, path);
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 503, body: 'Service Unavailable' });
        expect(answer.ms).toBeLessThan(2_000);
      }
    } finally {
      redis.thaw();
    }
    expect(await timedGet(offline, '/hello')).toMatchObject({ status: 200, body: 'Hello ELECLE 1' });
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
  });

  it('never shows the error to the client', () => {
    // The stack went to the log only.
    expect(offline.output()).toContain('StoreUnavailableError');
  });
});
