import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_KEY } from '../../lib/greeting';
import { askUntilAnswered, timedGet } from '../support/answers';
import { freePort } from '../support/free-port';
import { type Offline, startOffline } from '../support/offline';
import { openWindow } from '../support/open-window';
import { TestRedisServer } from '../support/redis-server';

const UNAVAILABLE = { status: 503, body: 'Service Unavailable' };

describe('HTTP: each error Redis can answer with gets a defined answer, a log line, and recovery', () => {
  let redis: TestRedisServer;
  let inspector: Redis;
  let offline: Offline;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    inspector = redis.client();
    offline = await startOffline({
      env: { REDIS_URL: redis.url, HELLO_WINDOW_SECONDS: '600', STORE_TIMEOUT_MS: '500' },
    });
  });

  afterEach(async () => {
    await inspector.config('SET', 'maxmemory', '0');
  });

  afterAll(async () => {
    await offline?.stop();
    await inspector?.quit();
    await redis?.stop();
  });

  it('answers 503 while Redis is out of memory (noeviction), changes nothing, and counts on once it has room', async () => {
    await openWindow(offline);
    await inspector.config('SET', 'maxmemory-policy', 'noeviction');
    await inspector.config('SET', 'maxmemory', '1');
    expect(await timedGet(offline, '/hello/again')).toMatchObject(UNAVAILABLE);
    expect(await timedGet(offline, '/hello')).toMatchObject(UNAVAILABLE);
    expect(offline.output()).toContain('Redis is out of memory');
    await inspector.config('SET', 'maxmemory', '0');
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 3');
  });

  it('answers 503 while Redis is a read-only replica, and counts on once it is a primary again', async () => {
    await openWindow(offline);
    await inspector.call('REPLICAOF', '127.0.0.1', String(await freePort()));
    try {
      expect(await timedGet(offline, '/hello/again')).toMatchObject(UNAVAILABLE);
      expect(offline.output()).toContain('read-only replica');
    } finally {
      await inspector.call('REPLICAOF', 'NO', 'ONE');
    }
    expect((await askUntilAnswered(offline, '/hello/again')).at(-1)?.body).toBe('Hello ELECLE 3');
  });

  it('counts exactly once after the script cache is flushed (NOSCRIPT)', async () => {
    await openWindow(offline);
    await inspector.script('FLUSH');
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 3');
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
    expect(await inspector.get(HELLO_KEY)).toBe('1');
  });

  it('answers "Expired!" after FLUSHALL inside a window, and creates no key', async () => {
    await openWindow(offline);
    await inspector.flushall();
    expect((await offline.get('/hello/again')).body).toBe('Expired!');
    expect(await inspector.exists(HELLO_KEY)).toBe(0);
  });

  it('counts on after Redis kills the service connections, with at most one 503', async () => {
    await openWindow(offline);
    await inspector.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    const answers = await askUntilAnswered(offline, '/hello/again');
    expect(answers.length).toBeLessThanOrEqual(2);
    expect(answers.at(-1)).toMatchObject({ status: 200, body: 'Hello ELECLE 3' });
  });

  it('answers 503 while Redis loads its dataset (LOADING), then counts on from the saved window', async () => {
    await openWindow(offline);
    // Enough keys, each loaded slowly, to keep Redis loading for about two seconds.
    await inspector.eval("for i = 1, 20000 do redis.call('SET', 'filler:' .. i, 'x') end", 0);
    await inspector.save();
    await redis.stop();
    const restarted = redis.restart(['--key-load-delay', '100']);
    await sleep(300);
    for (const path of ['/hello/again', '/health']) {
      const answer = await timedGet(offline, path);
      expect(answer).toMatchObject(UNAVAILABLE);
      expect(answer.ms).toBeLessThan(2_000);
    }
    await restarted;
    expect((await askUntilAnswered(offline, '/hello/again')).at(-1)?.body).toBe('Hello ELECLE 3');
    await inspector.flushall();
  });

  it('answers "Expired!" after Redis restarts empty, and /hello opens a new window', async () => {
    await openWindow(offline);
    await redis.stop();
    await redis.restart(['--dbfilename', 'never-saved.rdb']);
    expect((await askUntilAnswered(offline, '/hello/again')).at(-1)).toMatchObject({ status: 200, body: 'Expired!' });
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
  });
});

const WRONG_PASSWORD = 'not-the-password';

describe.each([
  {
    what: 'a database',
    server: {},
    url: (redis: TestRedisServer) => `${redis.url}/99`,
    logged: 'REDIS_URL names database 99, which this Redis refuses',
  },
  {
    what: 'a password',
    server: { password: 'the-password' },
    url: (redis: TestRedisServer) => redis.url.replace('the-password', WRONG_PASSWORD),
    logged: 'Redis refused the user name or password in REDIS_URL',
  },
])('HTTP: $what in REDIS_URL that Redis refuses', ({ server, url, logged }) => {
  let redis: TestRedisServer;
  let offline: Offline;

  beforeAll(async () => {
    redis = await TestRedisServer.start(server);
    offline = await startOffline({ env: { REDIS_URL: url(redis), LOG_LEVEL: 'DEBUG' } }); // every line, for the password check
  });

  afterAll(async () => {
    await offline?.stop();
    await redis?.stop();
  });

  it('answers 503 to every route, /health included, and counts nothing in database 0', async () => {
    for (const path of ['/hello', '/hello/again', '/health']) {
      expect(await timedGet(offline, path)).toMatchObject(UNAVAILABLE);
    }
    const inspector = redis.client();
    expect(await inspector.dbsize()).toBe(0);
    await inspector.quit();
  });

  it('logs why, naming REDIS_URL, and never the password it tried', () => {
    expect(offline.output()).toContain(logged);
    expect(offline.output()).not.toContain(WRONG_PASSWORD);
  });
});
