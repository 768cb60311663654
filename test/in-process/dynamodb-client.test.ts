import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDbCounterStore } from '../../lib/counter/dynamodb';

import { type Stack, startStack } from '../support/stack';
import { ROOMY_TIMEOUT_MS, storeOutcome, warningsWhile } from '../support/store-outcome';

const TIMEOUT_MS = 300;
const KEY = 'faults:count';

// The DynamoDB adapter's client, in this process, against dynalite behind the fault proxy: one
// keep-alive connection while requests come, a new client after an idle period (the old one
// closed, its requests left to finish), and the records of outcomes kept small. What each fault
// does to a call is in store-faults.test.ts.
describe('Class: DynamoDbCounterStore, its client and its records', () => {
  let stack: Stack<'dynamodb'>;

  const openStore = async (options: { maxIdleMs?: number; timeoutMs?: number } = {}): Promise<DynamoDbCounterStore> => {
    const store = await stack.newStore({ timeoutMs: TIMEOUT_MS, ...options });
    await store.start(KEY, 60_000);
    return store;
  };

  beforeAll(async () => {
    stack = await startStack({ store: 'dynamodb', proxy: true, offline: false });
  });

  afterEach(() => stack.heal());

  afterAll(async () => {
    await stack?.stop();
  });

  it('names the GetItem when a health read on a new connection is never answered, at its timeout', async () => {
    const store = await openStore();
    stack.proxy.setNewConnections('hang');
    stack.proxy.resetAll();
    await sleep(20); // the client sees its keep-alive socket closed
    const failed = await storeOutcome(store.ping());
    expect(failed.error).toBe(`DynamoDB did not answer the GetItem within ${TIMEOUT_MS} ms`);
    expect(failed.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(failed.ms).toBeLessThan(TIMEOUT_MS + 1_000);
  });

  it("keeps about one record per instance in the item: each write removes the last one's", async () => {
    const store = await openStore();
    for (let i = 0; i < 10; i += 1) await store.increment(KEY);
    const records = Object.keys((await stack.server.item(KEY)) ?? {}).filter((name) => name.startsWith('outcome:'));
    expect(records).toHaveLength(1);
  });

  it("reads a lost write's record with a strongly consistent read: an eventually consistent one may miss it", async () => {
    // Prepare: the write is applied, and its reply lost
    const store = await openStore();
    stack.proxy.loseRepliesOnExisting();
    stack.proxy.recordSent();
    // Act
    const { result: outcome, lines } = await warningsWhile(() => storeOutcome(store.increment(KEY)));
    expect(outcome.value).toBe(2);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'DynamoDB reply lost after the write was applied; answered from its record',
        count: 2,
      }),
    ]);
    // Assess: dynalite reads consistently whatever it is asked, so what was asked is looked at
    const reads = stack.proxy
      .sentByClients()
      .split(/(?=POST \/ HTTP\/1\.1)/)
      .filter((request) => request.includes('DynamoDB_20120810.GetItem'));
    expect(reads).toEqual([expect.stringContaining('"ConsistentRead":true')]);
  });

  it('leaves a closed window with a TTL of about a minute when the item went before the lookup (a flush)', async () => {
    // Prepare: the write is applied, and its reply lost
    const store = await openStore();
    stack.proxy.loseRepliesOnExisting();
    // Act: the item is deleted while the request waits for its reply
    const called = storeOutcome(store.increment(KEY));
    await sleep(TIMEOUT_MS / 2);
    const { server } = stack;
    await server.client.send(new DeleteItemCommand({ TableName: server.table, Key: { id: { S: KEY } } }));
    const outcome = await called;
    // Assess: nothing is left to count in, and the lookup's mark is cleaned up within a minute or so
    expect(outcome.error).toBe(
      `DynamoDB did not answer the UpdateItem within ${TIMEOUT_MS} ms; the write was not applied, and now cannot be`,
    );
    const nowSeconds = Date.now() / 1000;
    const item = await server.item(KEY);
    expect(item?.closesAt).toEqual({ N: '0' });
    expect(Number(item?.expiresAt?.N)).toBeGreaterThan(nowSeconds + 50);
    expect(Number(item?.expiresAt?.N)).toBeLessThanOrEqual(nowSeconds + 61);
    expect(await store.increment(KEY)).toBeNull();
  });

  it('keeps using one connection while requests come within the idle limit', async () => {
    const store = await openStore();
    const accepted = stack.proxy.accepted;
    for (let i = 2; i <= 6; i += 1) expect(await store.increment(KEY)).toBe(i);
    expect(stack.proxy.accepted).toBe(accepted);
  });

  it('closes the connection of a client it replaced after an idle period', async () => {
    const store = await openStore({ maxIdleMs: 50, timeoutMs: ROOMY_TIMEOUT_MS });
    const before = stack.proxy.connections;
    await sleep(100);
    expect(await store.increment(KEY)).toBe(2);
    await sleep(50);
    expect(stack.proxy.connections).toBe(before);
  });

  it('leaves a request in flight on a client it replaces undisturbed', async () => {
    // Prepare: requests take 120 ms (60 ms each way); the idle limit is 50 ms
    const store = await openStore({ maxIdleMs: 50, timeoutMs: ROOMY_TIMEOUT_MS });
    await sleep(100);
    stack.proxy.setLatency(60);
    // Act: the first request replaces the idle client; the second, 70 ms later, replaces that one
    const { result: counts, lines } = await warningsWhile(async () => {
      const first = store.increment(KEY);
      await sleep(70);
      const second = store.increment(KEY);
      return Promise.all([first, second]);
    });
    // Assess: both answered by DynamoDB itself, not from a lookup after a lost reply
    expect(counts.sort()).toEqual([2, 3]);
    expect(lines).toEqual([]);
  });

  it('serves concurrent requests after an idle period with one new client, and every one is counted', async () => {
    const store = await openStore({ maxIdleMs: 100, timeoutMs: ROOMY_TIMEOUT_MS });
    await sleep(150);
    stack.proxy.blackholeExisting();
    const counts = await Promise.all(Array.from({ length: 20 }, () => store.increment(KEY)));
    expect([...counts].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  });
});
