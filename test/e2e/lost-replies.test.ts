import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_KEY } from '../../lib/hello';
import { askUntilAnswered, countedNumbers, timedGet } from '../support/answers';
import { FaultProxy } from '../support/fault-proxy';
import { type Offline, startOffline } from '../support/offline';
import { TestRedisServer } from '../support/redis-server';

const BURST = 300;

// A fault in the middle of a burst of concurrent increments loses replies to writes Redis has
// applied. Each request must still end as the user was told: a 200 with the number it got, or a
// 503 that changed nothing. So after the burst the next number is 3 + the burst's 200s, and the
// burst's numbers are exactly 3.., each once. The fault strikes once Redis has sent a given number
// of reply bytes (an increment's reply is about 7), while every chunk between service and Redis
// takes 30 ms: on any machine, commands and replies are then on their way when it strikes.
// The one exception the service owns up to: a request whose lookup failed too (a machine too busy
// to connect within the timeout) is logged as OutcomeUnknownError; only those may skip a number.
describe('HTTP: a reset or a half-open connection in the middle of a burst of 300 /hello/again', () => {
  let redis: TestRedisServer;
  let inspector: Redis;
  let proxy: FaultProxy;
  let offline: Offline;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    inspector = redis.client();
    proxy = await FaultProxy.start(redis.port);
    offline = await startOffline({
      env: { REDIS_URL: proxy.rewrite(redis.url), STORE_TIMEOUT_MS: '500', HELLO_WINDOW_SECONDS: '600' },
    });
  });

  afterEach(() => {
    proxy.heal();
  });

  afterAll(async () => {
    await offline?.stop();
    await proxy?.stop();
    await inspector?.quit();
    await redis?.stop();
  });

  const faults = {
    reset: () => proxy.resetAll(),
    'half-open': () => proxy.blackholeExisting(),
  };

  it.each([
    ['reset', 30],
    ['reset', 150],
    ['half-open', 30],
    ['half-open', 150],
  ] as const)(
    '%s after about %i replies: every 200 is a number Redis counted, every 503 changed nothing',
    async (fault, replies) => {
      // Prepare: a window at 2, both functions connected (a previous case may have left a connection half-open).
      expect((await askUntilAnswered(offline, '/hello')).at(-1)?.body).toBe('Hello ELECLE 1');
      expect((await askUntilAnswered(offline, '/hello/again')).at(-1)?.body).toBe('Hello ELECLE 2');
      const connectionsBefore = proxy.accepted;
      const logBefore = offline.output().length;
      proxy.setLatency(30);
      proxy.afterServerSent(replies * 7, () => {
        faults[fault]();
        proxy.setLatency(0);
      });
      // Act
      const burst = Array.from({ length: BURST }, () => timedGet(offline, '/hello/again'));
      const answers = await Promise.all(burst);
      // The fault bit: the service had to connect again before the burst was over.
      expect(proxy.accepted).toBeGreaterThan(connectionsBefore);
      proxy.heal();
      const nextAnswers = await askUntilAnswered(offline, '/hello/again');
      // Assess
      const failures = answers.filter((answer) => answer.status !== 200);
      for (const failure of failures) expect(failure).toMatchObject({ status: 503, body: 'Service Unavailable' });
      const log = offline.output().slice(logBefore);
      const unknown = log.split('"name":"OutcomeUnknownError"').length - 1;
      const numbers = countedNumbers(answers).sort((a, b) => a - b);
      const [next] = countedNumbers(nextAnswers);
      const skipped = (next ?? 0) - 3 - numbers.length;
      expect(skipped).toBeGreaterThanOrEqual(0);
      expect(skipped).toBeLessThanOrEqual(unknown);
      expect(new Set(numbers).size).toBe(numbers.length);
      if (unknown === 0) expect(numbers).toEqual(numbers.map((_, index) => 3 + index));
      expect(await inspector.get(HELLO_KEY)).toBe(String(next));
    },
  );
});
