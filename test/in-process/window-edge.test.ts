import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCounterStore } from '../../lib/counter/dynamodb';
import { MemoryCounterStore } from '../../lib/counter/memory';
import { type Stack, startStack } from '../support/stack';

/** A clock a test sets by hand, in milliseconds. */
function handClock(at: number) {
  const clock = { at, now: () => clock.at };
  return clock;
}

const WINDOW_MS = 30_000;
const OPENED_AT = 1_000_000;
const CLOSES_AT = OPENED_AT + WINDOW_MS;
/** When an increment comes, and what it answers: the window is open up to, not at, closesAt. */
const EDGE = [
  ['1 ms before it closes', CLOSES_AT - 1, 2],
  ['exactly when it closes', CLOSES_AT, null],
  ['1 ms after it closes', CLOSES_AT + 1, null],
] as const;

describe('Class: MemoryCounterStore, at the edge of the window', () => {
  it.each(EDGE)('answers an increment %s with %s', async (_, at, expected) => {
    // Prepare
    const clock = handClock(OPENED_AT);
    const store = new MemoryCounterStore(clock.now);
    await store.start('edge', WINDOW_MS);
    // Act
    clock.at = at;
    // Assess
    expect(await store.increment('edge')).toBe(expected);
  });

  it('keeps answering null after the window closed, even if the clock were to read earlier again', async () => {
    const clock = handClock(OPENED_AT);
    const store = new MemoryCounterStore(clock.now);
    await store.start('edge', WINDOW_MS);
    clock.at = CLOSES_AT;
    expect(await store.increment('edge')).toBeNull();
    clock.at = CLOSES_AT - 1;
    expect(await store.increment('edge')).toBeNull();
  });
});

describe('Class: DynamoDbCounterStore, at the edge of the window (dynalite)', () => {
  let stack: Stack<'dynamodb'>;
  let table: string;
  let keys = 0;
  const newKey = () => {
    keys += 1;
    return `edge:${keys}`;
  };

  const storeAt = (clock: { now: () => number }) =>
    new DynamoDbCounterStore(
      { table, endpoint: stack.server.endpoint, timeoutMs: 2_000, maxIdleMs: 60_000 },
      clock.now,
    );
  const storedCount = async (key: string) => (await stack.server.item(key, table))?.count?.N;

  beforeAll(async () => {
    stack = await startStack({ store: 'dynamodb', offline: false });
    table = await stack.server.createTable();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.each(EDGE)('answers an increment %s with %s', async (_, at, expected) => {
    // Prepare
    const clock = handClock(OPENED_AT);
    const store = storeAt(clock);
    const key = newKey();
    await store.start(key, WINDOW_MS);
    // Act
    clock.at = at;
    // Assess
    expect(await store.increment(key)).toBe(expected);
    expect(await storedCount(key)).toBe(expected === null ? '1' : '2');
  });

  it('keeps a window when a /hello sent before it arrives late, and answers that /hello 1', async () => {
    const clock = handClock(OPENED_AT);
    const store = storeAt(clock);
    const key = newKey();
    await store.start(key, WINDOW_MS);
    expect(await store.increment(key)).toBe(2);
    // A PutItem written 1 ms before the window above opened, delivered after it.
    clock.at = OPENED_AT - 1;
    expect(await store.start(key, WINDOW_MS)).toBe(1);
    clock.at = OPENED_AT + 1;
    expect(await store.increment(key)).toBe(3);
  });

  it('replaces a window with one opened 1 ms later', async () => {
    const clock = handClock(OPENED_AT);
    const store = storeAt(clock);
    const key = newKey();
    await store.start(key, WINDOW_MS);
    await store.increment(key);
    clock.at = OPENED_AT + 1;
    await store.start(key, WINDOW_MS);
    expect(await storedCount(key)).toBe('1');
  });

  it.each([
    ['100 ms before the window opened (the clock tolerance)', OPENED_AT - 100, 2],
    ['101 ms before the window opened', OPENED_AT - 101, null],
  ])('counts an increment sent %s: %s', async (_, sentAt, expected) => {
    // Prepare: a window opened at OPENED_AT by another instance
    const opener = storeAt(handClock(OPENED_AT));
    const key = newKey();
    await opener.start(key, WINDOW_MS);
    // Act: an increment whose clock says it was sent at sentAt
    const late = storeAt(handClock(sentAt));
    // Assess
    expect(await late.increment(key)).toBe(expected);
  });
});
