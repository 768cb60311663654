import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisCounterStore } from '../../lib/counter/redis';
import { logger } from '../../lib/telemetry';
import { FaultProxy } from '../support/fault-proxy';
import { freePort } from '../support/free-port';
import { captureOutput } from '../support/lambda-events';
import { TestRedisServer } from '../support/redis-server';
import { ROOMY_TIMEOUT_MS, storeOutcome } from '../support/store-outcome';

const TIMEOUT_MS = 200;
const KEY = 'faults:count';

// The Redis adapter itself, in this process, against redis-server behind a fault proxy: each fault
// must end in a StoreUnavailableError that says what happened, within its bound, with nothing
// changed in Redis by a request that failed, and the next request served by a new connection.
describe('Class: RedisCounterStore, when the connection fails', () => {
  let redis: TestRedisServer;
  let proxy: FaultProxy;
  let inspector: Redis;
  let store: RedisCounterStore;
  let output: ReturnType<typeof captureOutput>;
  const logged = () => output.lines().map((line) => `${line.level} ${line.message}`);

  const newStore = (options: { maxIdleMs?: number; url?: string; timeoutMs?: number } = {}) =>
    new RedisCounterStore({
      url: options.url ?? proxy.rewrite(redis.url),
      timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
      maxIdleMs: options.maxIdleMs ?? 60_000,
    });

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    proxy = await FaultProxy.start(redis.port);
    inspector = redis.client();
    logger.setLogLevel('DEBUG');
  });

  beforeEach(async () => {
    output = captureOutput();
    store = newStore();
    await store.start(KEY, 60_000);
    output.clear();
  });

  afterEach(async () => {
    await store.close();
    proxy.heal();
    redis.thaw();
    output.stop();
  });

  afterAll(async () => {
    logger.setLogLevel('SILENT');
    await inspector?.quit();
    await proxy?.stop();
    await redis?.stop();
  });

  it('fails one request at its timeout on a half-open connection, then counts on a new one with no number lost', async () => {
    proxy.blackholeExisting();
    const failed = await storeOutcome(store.increment(KEY));
    expect(failed.error).toBe(
      `Redis did not answer within ${TIMEOUT_MS} ms; reconnecting; the write was not applied, and now cannot be`,
    );
    expect(failed.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(failed.ms).toBeLessThan(TIMEOUT_MS + 500);
    expect(await store.increment(KEY)).toBe(2);
    expect(await store.increment(KEY)).toBe(3);
  });

  it('replaces a connection idle longer than the limit before using it, so a dropped idle connection costs nothing', async () => {
    await store.close();
    store = newStore({ maxIdleMs: 100, timeoutMs: ROOMY_TIMEOUT_MS });
    await store.start(KEY, 60_000);
    await sleep(150);
    proxy.blackholeExisting();
    output.clear();
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
    await store.close();
    store = newStore({ maxIdleMs: 2_000 });
    await store.start(KEY, 60_000);
    const connections = proxy.connections;
    await sleep(100);
    expect(await store.increment(KEY)).toBe(2);
    expect(proxy.connections).toBe(connections);
  });

  it('fails at once, saying the connection failed, while new connections are refused; then recovers', async () => {
    proxy.setNewConnections('refuse');
    proxy.resetAll();
    await sleep(20);
    const failed = await storeOutcome(store.increment(KEY));
    expect(failed.error).toBe('Redis connection failed');
    expect(failed.cause?.message).toMatch(/ECONNRESET|ECONNREFUSED|closed/);
    expect(failed.ms).toBeLessThan(TIMEOUT_MS);
    proxy.heal();
    expect(await store.increment(KEY)).toBe(2);
  });

  it('fails a request whose new connection hangs, at its timeout, saying it was not ready', async () => {
    proxy.setNewConnections('hang');
    proxy.resetAll();
    await sleep(20);
    const failed = await storeOutcome(store.increment(KEY));
    expect(failed.error).toBe(`Redis connection not ready within ${TIMEOUT_MS} ms`);
    expect(failed.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(failed.ms).toBeLessThan(TIMEOUT_MS * 2 + 500);
    proxy.heal();
    expect(await store.increment(KEY)).toBe(2);
  });

  it('changes nothing in Redis for a write that arrives after its deadline', async () => {
    proxy.setLatency(TIMEOUT_MS + 100);
    proxy.resetAll();
    await sleep(20);
    // The new connection's handshake is slow too; the write itself is then late.
    for (const call of [() => store.increment(KEY), () => store.start(KEY, 60_000), () => store.increment(KEY)]) {
      expect((await storeOutcome(call())).error).toBeDefined();
    }
    await sleep(2 * (TIMEOUT_MS + 100) + 100);
    expect(await inspector.get(KEY)).toBe('1');
  });

  it('settles a write whose connection was reset under it as not applied, once its deadline has passed', async () => {
    // Prepare: the command is held on its way, then the connection is reset under it.
    proxy.setLatency(50);
    const sent = storeOutcome(store.increment(KEY));
    await sleep(10);
    proxy.resetAll();
    proxy.heal(); // new connections are quick
    // Act
    const failed = await sent;
    // Assess: after the deadline, a lookup on a new connection found no record: none can come now.
    expect(failed.error).toBe('Redis connection failed; the write was not applied, and now cannot be');
    expect(failed.cause?.message).toBeDefined(); // what ioredis saw goes to the log with it
    expect(failed.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(await inspector.get(KEY)).toBe('1');
  });

  it('changes nothing when a write held on its way reaches Redis after its request was answered 503', async () => {
    proxy.stallExisting();
    const failed = await storeOutcome(store.increment(KEY));
    expect(failed.error).toBe(
      `Redis did not answer within ${TIMEOUT_MS} ms; reconnecting; the write was not applied, and now cannot be`,
    );
    proxy.heal(); // the held command reaches Redis now
    await sleep(100);
    expect(await inspector.get(KEY)).toBe('1');
    expect(await store.increment(KEY)).toBe(2);
  });

  it('answers the number Redis gave a write whose reply was lost', async () => {
    proxy.loseRepliesOnExisting();
    const recovered = await storeOutcome(store.increment(KEY));
    expect(recovered.value).toBe(2);
    expect(recovered.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(await store.increment(KEY)).toBe(3);
  });

  it('answers 1 for a window opened whose reply was lost', async () => {
    await store.increment(KEY);
    proxy.loseRepliesOnExisting();
    expect((await storeOutcome(store.start(KEY, 60_000))).value).toBe(1);
    expect(await store.increment(KEY)).toBe(2);
  });

  it('asks again when the lookup is refused for a moment, and answers the number the write got', async () => {
    proxy.loseRepliesOnExisting();
    proxy.setNewConnections('refuse');
    const sent = storeOutcome(store.increment(KEY));
    await sleep(TIMEOUT_MS + 100);
    proxy.heal();
    expect((await sent).value).toBe(2);
  });

  it('says the outcome is unknown, no earlier than the deadline, when the lookup keeps failing', async () => {
    // Prepare: Redis applies the write and its reply is lost; no new connection can be made to ask.
    proxy.loseRepliesOnExisting();
    proxy.setNewConnections('refuse');
    // Act
    const failed = await storeOutcome(store.increment(KEY));
    // Assess
    expect(failed.error).toBe(
      `Redis did not answer within ${TIMEOUT_MS} ms; reconnecting, and so did asking whether the write was applied`,
    );
    expect(failed.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(await inspector.get(KEY)).toBe('2');
  });

  it('waits for a new connection that is slow but moving (each handshake reply takes most of the timeout)', async () => {
    await store.close();
    // A round trip takes 60% of the timeout; the handshake takes several. The timeout is 500 ms
    // here so that the 40% left over (200 ms) is more than a busy machine's pause.
    proxy.setLatency(150);
    store = newStore({ timeoutMs: 500 });
    expect(await store.start(KEY, 60_000)).toBe(1);
    expect(await store.increment(KEY)).toBe(2);
  });

  it('opens a new connection at once after Redis closed the last one, instead of waiting for ioredis to reconnect', async () => {
    await inspector.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await sleep(20); // the close has reached the client
    expect(await store.increment(KEY)).toBe(2);
  });

  it('refuses every request after close', async () => {
    await store.close();
    expect((await storeOutcome(store.increment(KEY))).error).toBe('Redis connection closed');
  });

  it('logs one warning when the connection is lost and one line when a new one is ready, not one per request', async () => {
    proxy.setNewConnections('refuse');
    proxy.resetAll();
    await sleep(20);
    for (let i = 0; i < 3; i += 1) await storeOutcome(store.increment(KEY));
    proxy.heal();
    expect(await store.increment(KEY)).toBe(2);
    expect(logged().filter((line) => !line.startsWith('DEBUG'))).toEqual([
      'WARN Redis connection lost',
      'INFO Redis connection ready again',
    ]);
  });
});

describe('Class: RedisCounterStore, when Redis refuses', () => {
  let redis: TestRedisServer;
  let inspector: Redis;
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    inspector = redis.client();
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
    await inspector?.quit();
    await redis?.stop();
  });

  it('names REDIS_URL and the database when Redis refuses the one it names, on every request', async () => {
    const store = openStore(`${redis.url}/99`);
    for (let i = 0; i < 2; i += 1) {
      const refused = await storeOutcome(store.start(KEY, 60_000));
      expect(refused.error).toBe(
        'REDIS_URL names database 99, which this Redis refuses; use one it has (0 on ElastiCache)',
      );
      expect(refused.cause?.message).toMatch(/DB index is out of range/);
    }
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
});

describe('Class: RedisCounterStore, when Redis refuses the credentials in REDIS_URL', () => {
  const PASSWORD = 'the-right-one';
  let redis: TestRedisServer;
  let inspector: Redis;
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    redis = await TestRedisServer.start({ password: PASSWORD });
    inspector = redis.client();
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
    await inspector?.quit();
    await redis?.stop();
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
    const odd = await TestRedisServer.start();
    await odd.stop();
    await odd.restart(['--rename-command', 'AUTH', 'AUTH-IS-RENAMED']);
    const store = new RedisCounterStore({
      url: `redis://:${PASSWORD}@localhost:${odd.port}`,
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
