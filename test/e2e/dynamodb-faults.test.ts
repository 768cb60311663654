import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { askFor, countedNumbers, timedGet } from '../support/answers';
import { throttledReply } from '../support/dynalite';
import type { FaultProxy } from '../support/fault-proxy';
import type { Offline } from '../support/offline';
import { openWindow } from '../support/open-window';
import { type Stack, startStack } from '../support/stack';

const TIMEOUT_MS = 500;
const IDLE_SECONDS = 1;

describe('HTTP: the counting contract when the connection to DynamoDB (dynalite) fails', () => {
  let stack: Stack<'dynamodb'>;
  let proxy: FaultProxy;
  let offline: Offline;

  beforeAll(async () => {
    stack = await startStack({
      store: 'dynamodb',
      proxy: true,
      env: {
        STORE_TIMEOUT_MS: String(TIMEOUT_MS),
        STORE_MAX_IDLE_SECONDS: String(IDLE_SECONDS),
        HELLO_WINDOW_SECONDS: '600',
      },
    });
    ({ proxy, offline } = stack);
  });

  afterEach(() => proxy.heal());

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers at most one 503 after the connection goes half-open, then counts on within 1 s', async () => {
    await openWindow(offline);
    proxy.blackholeExisting();
    const answers = await askFor(offline, '/hello/again', 2_000);
    expect(answers.filter((answer) => answer.status !== 200).length).toBeLessThanOrEqual(1);
    const numbers = countedNumbers(answers);
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers).toEqual(numbers.map((_, index) => 3 + index));
  });

  it('never pays a 503 for a keep-alive connection a network dropped while it was idle', async () => {
    await openWindow(offline);
    await sleep(IDLE_SECONDS * 1000 + 300);
    proxy.blackholeExisting();
    expect(await timedGet(offline, '/hello/again')).toMatchObject({ status: 200, body: 'Hello ELECLE 3' });
  });

  it('counts on after every connection is reset, with at most one 503', async () => {
    await openWindow(offline);
    proxy.resetAll();
    const answers = await askFor(offline, '/hello/again', 1_000);
    expect(answers.filter((answer) => answer.status !== 200).length).toBeLessThanOrEqual(1);
    expect(answers.at(-1)?.status).toBe(200);
  });

  it('answers 503 within 2 s when DynamoDB answers later than the timeout, and never repeats a number', async () => {
    await openWindow(offline);
    proxy.setLatency(TIMEOUT_MS + 300);
    proxy.resetAll();
    for (let request = 0; request < 2; request += 1) {
      const answer = await timedGet(offline, '/hello/again');
      expect(answer).toMatchObject({ status: 503, body: 'Service Unavailable' });
      expect(answer.ms).toBeLessThan(2_000);
    }
    await sleep(1_000);
    proxy.heal();
    const answers = await askFor(offline, '/hello/again', 1_000);
    const numbers = countedNumbers(answers);
    expect(numbers.length).toBeGreaterThan(0);
    // A request DynamoDB received after its 503 may still have counted: a number is skipped, never repeated.
    expect(numbers[0]).toBeGreaterThanOrEqual(3);
    expect(numbers[0]).toBeLessThanOrEqual(5);
  });

  it.each(['ThrottlingException', 'ProvisionedThroughputExceededException'] as const)(
    'answers 503 while DynamoDB throttles (%s), logs that it was throttled, and counts on after',
    async (exception) => {
      await openWindow(offline);
      proxy.setCannedReply(throttledReply(exception));
      for (const path of ['/hello/again', '/hello']) {
        expect(await timedGet(offline, path)).toMatchObject({ status: 503, body: 'Service Unavailable' });
      }
      expect(offline.output()).toContain(`DynamoDB throttled the UpdateItem (${exception})`);
      expect(offline.output()).toContain(`DynamoDB throttled the PutItem (${exception})`);
      proxy.heal();
      expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 3');
    },
  );
});
