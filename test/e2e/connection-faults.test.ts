import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_KEY } from '../../lib/greeting';
import { askFor, countedNumbers, timedGet } from '../support/answers';
import { FaultProxy } from '../support/fault-proxy';
import { type Offline, startOffline } from '../support/offline';
import { openWindow } from '../support/open-window';
import { TestRedisServer } from '../support/redis-server';

const TIMEOUT_MS = 500;
const IDLE_SECONDS = 1;

describe('HTTP: the counting contract when the connection to Redis fails (through a fault proxy)', () => {
  let redis: TestRedisServer;
  let inspector: Redis;
  let proxy: FaultProxy;
  let offline: Offline;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    inspector = redis.client();
    proxy = await FaultProxy.start(redis.port);
    offline = await startOffline({
      env: {
        REDIS_URL: proxy.rewrite(redis.url),
        STORE_TIMEOUT_MS: String(TIMEOUT_MS),
        STORE_MAX_IDLE_SECONDS: String(IDLE_SECONDS),
        HELLO_WINDOW_SECONDS: '600',
      },
    });
  });

  afterEach(() => {
    proxy.heal();
    redis.thaw();
  });

  afterAll(async () => {
    await offline?.stop();
    await proxy?.stop();
    await inspector?.quit();
    await redis?.stop();
  });

  it('answers at most one 503 after the connection goes half-open, then counts on within 1 s with no number lost', async () => {
    await openWindow(offline);
    proxy.blackholeExisting();
    const answers = await askFor(offline, '/hello/again', 2_500);
    const failures = answers.filter((answer) => answer.status !== 200);
    expect(failures.length).toBeLessThanOrEqual(1);
    for (const failure of failures) {
      expect(failure).toMatchObject({ status: 503, body: 'Service Unavailable' });
      expect(failure.ms).toBeLessThan(2_000);
    }
    // The request that met the dead socket never reached Redis: nothing was skipped.
    const numbers = countedNumbers(answers);
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers).toEqual(numbers.map((_, index) => 3 + index));
    const firstCorrect = answers.findIndex((answer) => answer.status === 200);
    const waited = answers.slice(0, firstCorrect + 1).reduce((total, answer) => total + answer.ms, 0);
    expect(waited).toBeLessThan(1_000 + TIMEOUT_MS);
  });

  it('never pays a 503 for a connection a network dropped while it was idle', async () => {
    await openWindow(offline);
    await sleep(IDLE_SECONDS * 1000 + 300);
    // As an idle NAT or VPC flow does after 350 s: the sockets stay open and carry nothing.
    proxy.blackholeExisting();
    for (const expected of ['Hello ELECLE 3', 'Hello ELECLE 4']) {
      expect(await timedGet(offline, '/hello/again')).toMatchObject({ status: 200, body: expected });
    }
  });

  it('counts on correctly after every connection is reset, with at most one 503', async () => {
    await openWindow(offline);
    proxy.resetAll();
    const answers = await askFor(offline, '/hello/again', 1_000);
    expect(answers.filter((answer) => answer.status !== 200).length).toBeLessThanOrEqual(1);
    expect(answers.at(-1)?.status).toBe(200);
  });

  it('answers 503 within 1 s while new connections are refused, and recovers once they are not', async () => {
    await openWindow(offline);
    proxy.setNewConnections('refuse');
    proxy.resetAll();
    // The reset has reached the service: no request is sent on the old connection (one that was
    // would wait for its deadline, then for a lookup: the reset case, tested elsewhere).
    await sleep(20);
    for (const path of ['/hello/again', '/hello', '/health']) {
      const answer = await timedGet(offline, path);
      expect(answer).toMatchObject({ status: 503, body: 'Service Unavailable' });
      expect(answer.ms).toBeLessThan(1_000);
    }
    proxy.heal();
    const answers = await askFor(offline, '/hello/again', 1_000);
    expect(answers.find((answer) => answer.status === 200)?.body).toBe('Hello ELECLE 3');
    expect(answers.at(-1)?.status).toBe(200);
  });

  it('answers 503 within 2 s while new connections hang, and recovers once they do not', async () => {
    await openWindow(offline);
    proxy.setNewConnections('hang');
    proxy.resetAll();
    for (const path of ['/hello/again', '/hello/again']) {
      const answer = await timedGet(offline, path);
      expect(answer).toMatchObject({ status: 503, body: 'Service Unavailable' });
      expect(answer.ms).toBeLessThan(2_000);
    }
    proxy.heal();
    const answers = await askFor(offline, '/hello/again', 1_500);
    expect(answers.find((answer) => answer.status === 200)?.body).toBe('Hello ELECLE 3');
    expect(answers.at(-1)?.status).toBe(200);
  });

  it('changes nothing for a request answered 503 because Redis answered late (latency above the timeout)', async () => {
    await openWindow(offline);
    proxy.setLatency(TIMEOUT_MS + 300);
    proxy.resetAll();
    for (const path of ['/hello/again', '/hello', '/hello/again']) {
      expect(await timedGet(offline, path)).toMatchObject({ status: 503 });
    }
    await sleep(1_000); // every delayed command has reached Redis by now
    expect(await inspector.get(HELLO_KEY)).toBe('2');
    proxy.heal();
    const answers = await askFor(offline, '/hello/again', 1_000);
    expect(answers.at(-1)?.body).toMatch(/^Hello ELECLE \d+$/);
    expect(answers.filter((answer) => answer.status === 200)[0]?.body).toBe('Hello ELECLE 3');
  });

  it('counts through latency below the timeout', async () => {
    await openWindow(offline);
    proxy.setLatency(TIMEOUT_MS / 4);
    proxy.resetAll();
    const answers = await askFor(offline, '/hello/again', 2_000);
    const numbers = countedNumbers(answers);
    expect(answers.filter((answer) => answer.status !== 200).length).toBeLessThanOrEqual(1);
    expect(numbers.length).toBeGreaterThanOrEqual(2);
    expect(numbers).toEqual(numbers.map((_, index) => 3 + index));
  });

  it('recovers from a connection closed halfway through a reply', async () => {
    await openWindow(offline);
    proxy.setCloseAfterBytes(20);
    proxy.resetAll();
    await askFor(offline, '/hello/again', 500);
    proxy.heal();
    const answers = await askFor(offline, '/hello/again', 1_000);
    expect(answers.at(-1)?.status).toBe(200);
  });

  it('does not apply a write answered 503 when a frozen Redis resumes: no reset, no skipped number', async () => {
    await openWindow(offline);
    redis.freeze();
    const duringFreeze = [
      await timedGet(offline, '/hello/again'),
      await timedGet(offline, '/hello'),
      await timedGet(offline, '/hello/again'),
    ];
    for (const answer of duringFreeze) {
      expect(answer).toMatchObject({ status: 503, body: 'Service Unavailable' });
      expect(answer.ms).toBeLessThan(2_000);
    }
    redis.thaw();
    expect(await inspector.get(HELLO_KEY)).toBe('2');
    const answers = await askFor(offline, '/hello/again', 1_000);
    expect(answers.filter((answer) => answer.status === 200)[0]?.body).toBe('Hello ELECLE 3');
  });
});
