import { setTimeout as sleep } from 'node:timers/promises';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCounterStore } from '../../lib/counter/dynamodb';
import { StoreUnavailableError } from '../../lib/errors';
import { type Stack, startStack } from '../support/stack';
import { ROOMY_TIMEOUT_MS } from '../support/store-outcome';
import { describeCounterStoreContract } from './counter-store-contract';

let stack: Stack<'dynamodb'> | undefined;
const server = async () => {
  stack ??= await startStack({ store: 'dynamodb', offline: false });
  return stack.server;
};

afterAll(async () => {
  await stack?.stop();
});

describeCounterStoreContract('dynamodb', async () => {
  const dynalite = await server();
  return {
    store: new DynamoDbCounterStore({
      table: await dynalite.createTable(),
      endpoint: dynalite.endpoint,
      timeoutMs: ROOMY_TIMEOUT_MS,
      maxIdleMs: 60_000,
    }),
  };
});

describe('Class: DynamoDbCounterStore', () => {
  let store: DynamoDbCounterStore;
  let table: string;
  const key = 'hello:count';
  const item = async () =>
    (await (await server()).client.send(new GetItemCommand({ TableName: table, Key: { id: { S: key } } }))).Item;

  beforeAll(async () => {
    const dynalite = await server();
    table = await dynalite.createTable();
    store = new DynamoDbCounterStore({
      table,
      endpoint: dynalite.endpoint,
      timeoutMs: ROOMY_TIMEOUT_MS,
      maxIdleMs: 60_000,
    });
  });

  it('stores the count, when the window closes, and a TTL for cleanup', async () => {
    const before = Date.now();
    await store.start(key, 5_000);
    const stored = await item();
    expect(stored?.count).toEqual({ N: '1' });
    const closesAt = Number(stored?.closesAt?.N);
    expect(closesAt).toBeGreaterThanOrEqual(before + 5_000);
    expect(closesAt).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(Number(stored?.expiresAt?.N)).toBe(Math.ceil(closesAt / 1000));
  });

  it('answers a health read (GET /health) without writing anything', async () => {
    const { client } = await server();
    const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const items = async () => (await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items;
    await store.start(key, 5_000);
    const before = await items();
    expect(before).toHaveLength(1);
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await items()).toEqual(before);
  });

  it('leaves no item behind when it increments a missing one', async () => {
    await store.start(key, 100);
    await sleep(150);
    const missing = `${key}:never-started`;
    expect(await store.increment(missing)).toBeNull();
    const { client } = await server();
    expect(
      (await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: missing } } }))).Item,
    ).toBeUndefined();
  });

  it('does not change the item once the window has closed', async () => {
    await store.start(key, 100);
    await sleep(150);
    expect(await store.increment(key)).toBeNull();
    expect((await item())?.count).toEqual({ N: '1' });
  });

  it('does not let a /hello that reaches DynamoDB after a newer one reset the newer window', async () => {
    const { endpoint } = await server();
    const late = new DynamoDbCounterStore(
      { table, endpoint, timeoutMs: ROOMY_TIMEOUT_MS, maxIdleMs: 60_000 },
      () => Date.now() - 5_000,
    );
    await store.start(key, 10_000);
    expect(await store.increment(key)).toBe(2);
    expect(await late.start(key, 10_000)).toBe(1);
    expect((await item())?.count).toEqual({ N: '2' });
    expect(await store.increment(key)).toBe(3);
  });

  it('does not count an increment sent before its window was opened (one that arrives late)', async () => {
    const { endpoint } = await server();
    const late = new DynamoDbCounterStore(
      { table, endpoint, timeoutMs: ROOMY_TIMEOUT_MS, maxIdleMs: 60_000 },
      () => Date.now() - 5_000,
    );
    await store.start(key, 10_000);
    expect(await late.increment(key)).toBeNull();
    expect((await item())?.count).toEqual({ N: '1' });
  });

  it('throws StoreUnavailableError within the timeout when nothing answers', async () => {
    const unreachable = new DynamoDbCounterStore({
      table,
      endpoint: 'http://127.0.0.1:9',
      timeoutMs: 300,
      maxIdleMs: 60_000,
    });
    const startedAt = performance.now();
    await expect(unreachable.increment(key)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(unreachable.start(key, 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
  });
});
