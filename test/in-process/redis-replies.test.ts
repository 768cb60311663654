import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisCounterStore } from '../../lib/counter/redis';
import { logger } from '../../lib/telemetry';
import { freePort } from '../support/free-port';
import { captureOutput } from '../support/lambda-events';
import type { TestRedisServer } from '../support/redis-server';
import { type Stack, startStack } from '../support/stack';
import { storeOutcome } from '../support/store-outcome';

const TIMEOUT_MS = 200;
const KEY = 'faults:count';

// What the Redis adapter does with each error Redis can answer, in this process against a real
// redis-server: a StoreUnavailableError that names the problem (and what to fix in REDIS_URL), the
// connection kept or replaced as the error calls for, nothing written, and the count right after.
describe('Class: RedisCounterStore, when Redis refuses', () => {
  let stack: Stack<'redis'>;
  let redis: TestRedisServer;
  let inspector: Redis;
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', offline: false });
    ({ server: redis, inspector } = stack);
  });

  /** Each test's stores are closed after it. */
  const opened: RedisCounterStore[] = [];
  const openStore = (url = redis.url) => {
    const store = new RedisCounterStore({ url, timeoutMs: TIMEOUT_MS, maxIdleMs: 60_000 });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    output = captureOutput();
  });

  /** The ids of the connections Redis has, other than the inspector's. */
  const serviceConnections = async () => {
    const own = await inspector.client('ID');
    return String(await inspector.call('CLIENT', 'LIST', 'TYPE', 'normal'))
      .trim()
      .split('\n')
      .map((line) => Number(/\bid=(\d+)/.exec(line)?.[1]))
      .filter((id) => id !== own);
  };

  afterEach(async () => {
    vi.restoreAllMocks();
    logger.setLogLevel('SILENT');
    await Promise.all(opened.splice(0).map((store) => store.close()));
    output.stop();
    await inspector.config('SET', 'maxmemory', '0');
    await inspector.replicaof('NO', 'ONE');
    await inspector.flushall();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('names REDIS_URL and the database when Redis refuses the one it names, on every request, /health too', async () => {
    const store = openStore(`${redis.url}/99`);
    for (let i = 0; i < 2; i += 1) {
      const refused = await storeOutcome(store.start(KEY, 60_000));
      expect(refused.error).toBe(
        'REDIS_URL names database 99, which this Redis refuses; use one it has (0 on ElastiCache)',
      );
      expect(refused.cause?.message).toMatch(/DB index is out of range/);
    }
    // GET /health's read too
    expect((await storeOutcome(store.ping())).error).toBe(
      'REDIS_URL names database 99, which this Redis refuses; use one it has (0 on ElastiCache)',
    );
    expect(await inspector.exists(KEY)).toBe(0);
  });

  it('says Redis is out of memory when it refuses a write (maxmemory, noeviction)', async () => {
    const store = openStore();
    await store.start(KEY, 60_000);
    await inspector.config('SET', 'maxmemory-policy', 'noeviction');
    await inspector.config('SET', 'maxmemory', '1');
    const refused = await storeOutcome(store.start(KEY, 60_000));
    expect(refused.error).toBe('Redis is out of memory (maxmemory with noeviction) and refused the write');
    expect(refused.cause?.message).toMatch(/^OOM /);
    const connection = await serviceConnections();
    await inspector.config('SET', 'maxmemory', '0');
    expect(await store.increment(KEY)).toBe(2);
    // Memory is the server's problem, not the connection's: it is kept.
    expect(await serviceConnections()).toEqual(connection);
  });

  it('says Redis is a read-only replica, and writes through a new connection once it is a primary again', async () => {
    const store = openStore();
    await store.start(KEY, 60_000);
    const before = await serviceConnections();
    await inspector.replicaof('127.0.0.1', '1'); // a primary that is never there
    expect((await storeOutcome(store.increment(KEY))).error).toBe(
      'Redis is a read-only replica (after a failover?); reconnecting',
    );
    await inspector.replicaof('NO', 'ONE');
    await inspector.set(KEY, '1', 'PX', 60_000);
    expect(await store.increment(KEY)).toBe(2);
    const after = await serviceConnections();
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);
  });

  it("refuses writes as late, changing nothing, and says once that Redis's clock is ahead when this host's is 5 s behind", async () => {
    // Prepare: this host's clock reads 5 s early, so each deadline it sends has passed on Redis's clock
    const store = openStore();
    logger.setLogLevel('ERROR');
    await store.start(KEY, 60_000);
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - 5_000);
    // Act
    const refused = [await storeOutcome(store.increment(KEY)), await storeOutcome(store.start(KEY, 60_000))];
    // Assess
    for (const { error } of refused) {
      expect(error).toBe('Redis received the command after its deadline; nothing was changed');
    }
    expect(await inspector.get(KEY)).toBe('1');
    const errors = output.lines().filter((line) => line.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      "Redis's clock is ahead of this host's; writes are refused as late. Synchronise the clocks (NTP)",
    );
    // A lower bound: the deadline's margin left when Redis refused, at most the timeout.
    expect(errors[0]?.aheadByAtLeastMs).toBeGreaterThan(0);
    expect(errors[0]?.aheadByAtLeastMs).toBeLessThanOrEqual(TIMEOUT_MS);
  });

  it('warns once that Redis is unreachable, with the TLS hint for redis://, and says when it is ready', async () => {
    const port = await freePort();
    const store = openStore(`redis://localhost:${port}`);
    logger.setLogLevel('INFO');
    for (let i = 0; i < 3; i += 1) expect((await storeOutcome(store.ping())).error).toBe('Redis connection failed');
    const lines = output.lines().map(({ level, message, url, hint }) => ({ level, message, url, hint }));
    expect(lines).toEqual([
      {
        level: 'WARN',
        message: 'Redis unreachable',
        url: `redis://localhost:${port}`,
        hint: 'if the server requires TLS (ElastiCache does), use rediss://',
      },
    ]);
  });

  it('passes any other error reply on in its message', async () => {
    const store = openStore();
    await inspector.set(KEY, 'not a number', 'PX', 60_000);
    await store.ping();
    const connection = await serviceConnections();
    expect((await storeOutcome(store.increment(KEY))).error).toMatch(
      /^Redis answered with an error: ERR .*value is not an integer/,
    );
    await store.ping();
    expect(await serviceConnections()).toEqual(connection);
  });

  it('counts exactly once after the script cache is flushed (NOSCRIPT), and opens a window', async () => {
    const store = openStore();
    await store.start(KEY, 60_000);
    expect(await store.increment(KEY)).toBe(2);
    await inspector.script('FLUSH');
    expect(await store.increment(KEY)).toBe(3);
    await inspector.script('FLUSH');
    expect(await store.start(KEY, 60_000)).toBe(1);
    expect(await inspector.get(KEY)).toBe('1');
  });

  it('answers null after FLUSHALL inside a window, and creates no key', async () => {
    const store = openStore();
    await store.start(KEY, 60_000);
    await inspector.flushall();
    expect(await store.increment(KEY)).toBeNull();
    expect(await inspector.exists(KEY)).toBe(0);
  });

  it('fails within 2 s while Redis loads its dataset (LOADING), then counts on from the saved window', async () => {
    // Prepare: a window at 2, saved with enough keys, each loaded slowly, to keep Redis loading for about 2 s.
    const store = openStore();
    await store.start(KEY, 60_000);
    expect(await store.increment(KEY)).toBe(2);
    await inspector.eval("for i = 1, 20000 do redis.call('SET', 'filler:' .. i, 'x') end", 0);
    await inspector.save();
    await redis.stop();
    const restarted = redis.restart(['--key-load-delay', '100']);
    await sleep(300);
    // Act
    const loading = [await storeOutcome(store.increment(KEY)), await storeOutcome(store.ping())];
    await restarted;
    // Assess: the restart closed the connection; a new one waits for Redis to be ready, which it is not yet.
    for (const { error, ms } of loading) {
      expect(error).toBe(`Redis connection not ready within ${TIMEOUT_MS} ms`);
      expect(ms).toBeLessThan(2_000);
    }
    expect(await store.increment(KEY)).toBe(3);
  });

  it('answers null after Redis restarts empty, and start opens a new window', async () => {
    const store = openStore();
    await store.start(KEY, 60_000);
    await redis.stop();
    await redis.restart(['--dbfilename', 'never-saved.rdb']);
    await sleep(20); // the close has reached the client
    expect(await store.increment(KEY)).toBeNull();
    expect(await store.start(KEY, 60_000)).toBe(1);
  });
});

describe('Class: RedisCounterStore, when Redis refuses the credentials in REDIS_URL', () => {
  const PASSWORD = 'the-right-one';
  let stack: Stack<'redis'>;
  let redis: TestRedisServer;
  let inspector: Redis;
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', password: PASSWORD, offline: false });
    ({ server: redis, inspector } = stack);
  });

  beforeEach(() => {
    output = captureOutput();
    logger.setLogLevel('WARN');
  });

  afterEach(() => {
    logger.setLogLevel('SILENT');
    output.stop();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('counts with the password REDIS_URL gives', async () => {
    const store = new RedisCounterStore({ url: redis.url, timeoutMs: TIMEOUT_MS, maxIdleMs: 60_000 });
    expect(await store.start(KEY, 60_000)).toBe(1);
    await store.close();
    expect(await inspector.get(KEY)).toBe('1');
    await inspector.del(KEY);
  });

  it.each([
    [
      'no password',
      '',
      'Redis requires a password, and REDIS_URL has none: use redis://:PASSWORD@host:port (rediss:// for TLS)',
      /^NOAUTH /,
    ],
    ['a wrong password', ':not-it@', 'Redis refused the user name or password in REDIS_URL', /^WRONGPASS /],
    [
      'a user Redis does not have',
      `bob:${PASSWORD}@`,
      'Redis refused the user name or password in REDIS_URL',
      /^WRONGPASS /,
    ],
  ])(
    'says what to fix in REDIS_URL when it has %s, at once on every request, and warns once',
    async (_, auth, problem, code) => {
      const url = `redis://${auth}localhost:${redis.port}`;
      const store = new RedisCounterStore({ url, timeoutMs: TIMEOUT_MS, maxIdleMs: 60_000 });
      for (let i = 0; i < 2; i += 1) {
        const refused = await storeOutcome(store.start(KEY, 60_000));
        expect(refused.error).toBe(problem);
        expect(refused.cause?.message).toMatch(code);
        expect(refused.ms).toBeLessThan(TIMEOUT_MS);
      }
      await store.close();
      expect(await inspector.exists(KEY)).toBe(0);
      // Redis answered: neither "unreachable" nor the TLS hint, and never the password itself.
      const shownUrl = `redis://${auth.replace(/:[^:@]*@$/, ':****@')}localhost:${redis.port}`;
      const lines = output.lines().map(({ level, message, hint, url, error }) => ({
        level,
        message,
        hint,
        url,
        reply: (error as { message?: string } | undefined)?.message,
      }));
      expect(lines).toEqual([
        { level: 'WARN', message: problem, hint: undefined, url: shownUrl, reply: expect.stringMatching(code) },
      ]);
      expect(JSON.stringify(output.lines())).not.toContain('not-it');
      expect(JSON.stringify(output.lines())).not.toContain(PASSWORD);
    },
  );

  it('never logs the password when Redis answers AUTH with another error, even one that quotes it', async () => {
    // Prepare: a Redis that answers AUTH "ERR unknown command 'auth', with args beginning with:
    // '<the password>'", neither NOAUTH nor WRONGPASS, quoting what it was sent
    const odd = await startStack({ store: 'redis', offline: false });
    await odd.server.stop();
    await odd.server.restart(['--rename-command', 'AUTH', 'AUTH-IS-RENAMED']);
    const store = new RedisCounterStore({
      url: `redis://:${PASSWORD}@localhost:${odd.server.port}`,
      timeoutMs: TIMEOUT_MS,
      maxIdleMs: 60_000,
    });
    // Act
    const failed = await storeOutcome(store.start(KEY, 60_000));
    await store.close();
    await odd.stop();
    // Assess
    expect(failed.error).toBe('Redis connection failed');
    expect(failed.cause?.message).toMatch(/unknown command 'auth'/);
    expect(JSON.stringify(output.lines())).toContain("unknown command 'auth', with args beginning with: '****'");
    expect(JSON.stringify([output.lines(), failed.cause])).not.toContain(PASSWORD);
  });
});
