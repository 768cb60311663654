import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbCounterStore } from '../../lib/counter/dynamodb';
import { throttledReply } from '../support/dynalite';
import type { FaultProxy } from '../support/fault-proxy';
import { type Stack, startStack } from '../support/stack';
import { ROOMY_TIMEOUT_MS, storeOutcome } from '../support/store-outcome';

const TIMEOUT_MS = 300;
const KEY = 'faults:count';

// The DynamoDB adapter itself, in this process, against dynalite behind a fault proxy.
describe('Class: DynamoDbCounterStore, when DynamoDB fails', () => {
  let stack: Stack<'dynamodb'>;
  let proxy: FaultProxy;
  let table: string;
  let store: DynamoDbCounterStore;

  const newStore = ({ maxIdleMs = 60_000, timeoutMs = TIMEOUT_MS } = {}) =>
    new DynamoDbCounterStore({ table, endpoint: `http://127.0.0.1:${proxy.port}`, timeoutMs, maxIdleMs });

  beforeAll(async () => {
    stack = await startStack({ store: 'dynamodb', proxy: true, offline: false });
    table = stack.server.table;
    proxy = stack.proxy;
  });

  beforeEach(async () => {
    store = newStore();
    await store.start(KEY, 60_000);
  });

  afterEach(() => proxy.heal());

  const stored = async () => stack.server.item(KEY);

  afterAll(async () => {
    await stack?.stop();
  });

  it('fails a request DynamoDB never answers at its timeout, naming the operation, then counts on', async () => {
    proxy.blackholeExisting();
    const failed = await storeOutcome(store.increment(KEY));
    expect(failed.error).toBe(
      `DynamoDB did not answer the UpdateItem within ${TIMEOUT_MS} ms; the write was not applied, and now cannot be`,
    );
    expect(failed.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(failed.ms).toBeLessThan(TIMEOUT_MS + 1_000);
    expect(await store.increment(KEY)).toBe(2);
  });

  it('fails a request on a new connection that is accepted and never answered, at its timeout', async () => {
    proxy.setNewConnections('hang');
    proxy.resetAll();
    await sleep(20); // the client sees its keep-alive socket closed
    const failed = await storeOutcome(store.ping());
    expect(failed.error).toBe(`DynamoDB did not answer the GetItem within ${TIMEOUT_MS} ms`);
    expect(failed.ms).toBeLessThan(TIMEOUT_MS + 1_000);
  });

  it.each(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded'] as const)(
    'says DynamoDB throttled the request (%s) after one attempt, never retrying an ADD that may have counted',
    async (exception) => {
      proxy.setCannedReply(throttledReply(exception));
      const failed = await storeOutcome(store.increment(KEY));
      expect(failed.error).toBe(
        `DynamoDB throttled the UpdateItem (${exception}); the table or the item is over its capacity`,
      );
      expect(failed.cause?.name).toBe(exception); // the SDK's error goes to the log with it
      // The SDK's own retries would wait at least 100 ms before a second attempt.
      expect(failed.ms).toBeLessThan(100);
      proxy.heal();
      expect(await store.increment(KEY)).toBe(2);
    },
  );

  it('says which operation failed when the connection is refused', async () => {
    proxy.setNewConnections('refuse');
    proxy.resetAll();
    await sleep(20);
    const failed = await storeOutcome(store.start(KEY, 60_000));
    expect(failed.error).toBe('DynamoDB PutItem failed');
    expect(failed.ms).toBeLessThan(TIMEOUT_MS);
  });

  it('answers the number DynamoDB gave a write whose answer was lost, read from the item', async () => {
    proxy.loseRepliesOnExisting();
    const recovered = await storeOutcome(store.increment(KEY));
    expect(recovered.value).toBe(2);
    expect(await store.increment(KEY)).toBe(3);
  });

  it('answers 1 for a window opened whose answer was lost', async () => {
    await store.increment(KEY);
    proxy.loseRepliesOnExisting();
    expect((await storeOutcome(store.start(KEY, 60_000))).value).toBe(1);
    expect(await store.increment(KEY)).toBe(2);
  });

  it('changes nothing when a write held on its way reaches DynamoDB after its request was answered 503', async () => {
    proxy.stallExisting();
    const failed = await storeOutcome(store.increment(KEY));
    expect(failed.error).toBe(
      `DynamoDB did not answer the UpdateItem within ${TIMEOUT_MS} ms; the write was not applied, and now cannot be`,
    );
    proxy.heal(); // the held request reaches DynamoDB now, and is refused
    await sleep(200);
    expect(await stored()).toMatchObject({ count: { N: '1' } });
    expect(await store.increment(KEY)).toBe(2);
  });

  it('says the outcome is unknown when the lookup keeps failing', async () => {
    proxy.loseRepliesOnExisting();
    proxy.setNewConnections('hang');
    const failed = await storeOutcome(store.increment(KEY));
    expect(failed.error).toBe(
      `DynamoDB did not answer the UpdateItem within ${TIMEOUT_MS} ms, and so did asking whether the write was applied`,
    );
    expect(await stored()).toMatchObject({ count: { N: '2' } });
  });

  it("keeps about one record per instance in the item: each write removes the last one's", async () => {
    for (let i = 0; i < 10; i += 1) await store.increment(KEY);
    const records = Object.keys((await stored()) ?? {}).filter((name) => name.startsWith('outcome:'));
    expect(records).toHaveLength(1);
  });

  it('replaces a client idle longer than the limit before using it, so a dropped idle connection costs nothing', async () => {
    store = newStore({ maxIdleMs: 100, timeoutMs: ROOMY_TIMEOUT_MS });
    await store.start(KEY, 60_000);
    await sleep(150);
    proxy.blackholeExisting();
    expect(await store.increment(KEY)).toBe(2);
    expect(await store.increment(KEY)).toBe(3);
  });

  it('keeps using one connection while requests come within the idle limit', async () => {
    const accepted = proxy.accepted;
    for (let i = 2; i <= 6; i += 1) expect(await store.increment(KEY)).toBe(i);
    expect(proxy.accepted).toBe(accepted);
  });

  it('closes the connection of a client it replaced after an idle period', async () => {
    store = newStore({ maxIdleMs: 50, timeoutMs: ROOMY_TIMEOUT_MS });
    await store.start(KEY, 60_000);
    const before = proxy.connections;
    await sleep(100);
    expect(await store.increment(KEY)).toBe(2);
    await sleep(50);
    expect(proxy.connections).toBe(before);
  });

  it('leaves a request in flight on a client it replaces undisturbed', async () => {
    // Prepare: requests take 120 ms (60 ms each way); the idle limit is 50 ms
    store = newStore({ maxIdleMs: 50, timeoutMs: ROOMY_TIMEOUT_MS });
    await store.start(KEY, 60_000);
    await sleep(100);
    proxy.setLatency(60);
    // Act: the first request replaces the idle client; the second, 70 ms later, replaces that one
    const first = store.increment(KEY);
    await sleep(70);
    const second = store.increment(KEY);
    // Assess
    expect([await first, await second].sort()).toEqual([2, 3]);
  });

  it('serves concurrent requests after an idle period with one new client, and every one is counted', async () => {
    store = newStore({ maxIdleMs: 100, timeoutMs: ROOMY_TIMEOUT_MS });
    await store.start(KEY, 60_000);
    await sleep(150);
    proxy.blackholeExisting();
    const counts = await Promise.all(Array.from({ length: 20 }, () => store.increment(KEY)));
    expect([...counts].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  });
});
