import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askUntilAnswered, timedGet } from '../support/answers';
import type { Offline } from '../support/offline';
import type { TestRedisServer } from '../support/redis-server';
import { type Stack, startStack } from '../support/stack';

/** Set by Node's HTTP server on every answer; they say nothing about the service. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive']);
const serviceHeaders = (headers: Headers) =>
  Object.fromEntries([...headers].filter(([name]) => !TRANSPORT_HEADERS.has(name)));
const PLAIN_503_HEADERS = {
  'content-type': 'text/plain; charset=utf-8',
  'cache-control': 'no-store',
  'content-length': String('Service Unavailable'.length),
};

describe('HTTP: Redis stopped, frozen and back', () => {
  let stack: Stack<'redis'>;
  let redis: TestRedisServer;
  let offline: Offline;

  beforeAll(async () => {
    stack = await startStack({ store: 'redis' });
    ({ server: redis, offline } = stack);
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
  });

  afterAll(() => stack?.stop());

  it('answers 503 "Service Unavailable" within 1 s while Redis refuses connections', async () => {
    await redis.stop();
    // The close has reached the service: a request sent on the dying connection would wait for its
    // deadline, then ask (refused) for one more timeout whether its write landed: up to about 1 s.
    await sleep(50);
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

  it('never shows the error to the client: a bare 503 "Service Unavailable", while the log gets the StoreUnavailableError', async () => {
    // Prepare: a healthy service, whatever the tests before left behind.
    expect((await askUntilAnswered(offline, '/hello')).at(-1)).toMatchObject({ status: 200, body: 'Hello ELECLE 1' });
    const logStart = offline.output().length;
    await redis.stop();
    try {
      for (const path of ['/hello', '/hello/again', '/health']) {
        // Act
        const response = await offline.get(path);
        // Assess: all the client sees, apart from the transport's own headers.
        const seen = { path, status: response.status, body: response.body, headers: serviceHeaders(response.headers) };
        expect(seen).toEqual({ path, status: 503, body: 'Service Unavailable', headers: PLAIN_503_HEADERS });
        expect(JSON.stringify(seen)).not.toMatch(
          new RegExp(`error|stack|redis|ECONNREFUSED|127\\.0\\.0\\.1|${redis.port}`, 'i'),
        );
      }
    } finally {
      await redis.restart();
    }
    const log = offline.output().slice(logStart);
    expect(log).toContain('"name":"StoreUnavailableError"');
    expect(log).toContain(`ECONNREFUSED 127.0.0.1:${redis.port}`);
    // Redis runs again, and the service answers again.
    expect((await askUntilAnswered(offline, '/hello')).at(-1)).toMatchObject({ status: 200, body: 'Hello ELECLE 1' });
  });
});
