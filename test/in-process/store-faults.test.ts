import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorReply, throttledReply } from '../support/dynalite';
import type { NewConnections } from '../support/fault-proxy';
import { type Stack, startStack } from '../support/stack';
import { ROOMY_TIMEOUT_MS, storeOutcome } from '../support/store-outcome';

// The fault matrix at the adapter layer: each fault done to the connection between an adapter, in
// this process, and a real store (redis-server, dynalite) behind the fault proxy; run for each
// store the fault applies to. Each row asserts what the call answers (its number, or the
// StoreUnavailableError the route turns into a 503, with the message the log gets), its time
// bound, and what is left in the store once the fault has healed and every held byte has arrived:
// the next increment then counts on from it, so no number is lost or repeated.
// What only the whole service shows (store stopped, faults in a burst of concurrent requests) is
// asserted through serverless-offline in test/e2e/store-outages.test.ts.

type Kind = 'redis' | 'dynamodb';
/** The store's deadline here: long enough for a busy machine's round trip, short enough to wait out often. */
const T = 300;
const KEY = 'faults:count';

/**
 * What the call answers: a number (a burst's numbers, in order), or a StoreUnavailableError's
 * message (and its cause's name and message).
 */
type Answer = { count: number | number[] } | { error: string | RegExp; cause?: RegExp };
type Adapter = Awaited<ReturnType<Stack<Kind>['newStore']>>;

interface Row {
  fault: string;
  /** What is asserted, in words, for the test's name. */
  says: string;
  /** The adapter's options; the deadline is T unless a row needs another. */
  options?: { timeoutMs?: number; maxIdleMs?: number };
  /** Done to the stack once the window is open at 1 (a promise is waited for). */
  inject(stack: Stack<Kind>, store: Adapter): unknown;
  /** Done while the call is on its way. */
  during?(stack: Stack<Kind>): Promise<void>;
  /** The call: an increment (the default), a /hello's start, or BURST increments at once. */
  call?: 'increment' | 'start' | 'burst';
  /** How long bytes held or delayed by the fault may still take to arrive once it has healed. */
  lateMs?: number;
  /** Per store the row applies to: the answer, the time bound [at least, less than] in ms, what is left. */
  stores: Partial<Record<Kind, { answer: Answer; ms: [number, number]; left: number | [number, number] }>>;
}

const notAppliedRedis = `Redis did not answer within ${T} ms; reconnecting; the write was not applied, and now cannot be`;
const notAppliedDynamoDb = `DynamoDB did not answer the UpdateItem within ${T} ms; the write was not applied, and now cannot be`;
const unknownRedis = `Redis did not answer within ${T} ms; reconnecting, and so did asking whether the write was applied`;
const unknownDynamoDb = `DynamoDB did not answer the UpdateItem within ${T} ms, and so did asking whether the write was applied`;

const BURST = 6;

/**
 * Strikes the adapter's next connection at its first write (an increment, or a /hello's), after
 * its handshake and whatever the adapter sends before writing: every connection is reset, so the
 * call must open a new one.
 */
const atFirstWrite = (stack: Stack<Kind>, write: 'increment' | 'start', fault: 'half-open' | 'lose-replies') => {
  const marker =
    stack.kind === 'redis'
      ? `\r\n${KEY}\r\n` // the counter's own key, which only the write scripts carry
      : `DynamoDB_20120810.${write === 'start' ? 'PutItem' : 'UpdateItem'}`;
  stack.proxy.strikeWhenClientSends((chunk) => chunk.includes(marker), fault);
  return resetAll(stack, 'forward');
};

/** Every connection reset, and new ones treated as `mode` says, once the reset has reached the adapter. */
const resetAll = (stack: Stack<Kind>, mode: NewConnections) => {
  stack.proxy.setNewConnections(mode);
  stack.proxy.resetAll();
  return sleep(20);
};

const ROWS: Row[] = [
  {
    fault: 'new connections refused',
    says: 'fails a /hello at once, saying the connection failed, and changes nothing',
    inject: (stack) => resetAll(stack, 'refuse'),
    call: 'start',
    stores: {
      redis: {
        answer: { error: 'Redis connection failed', cause: /ECONNRESET|ECONNREFUSED|closed/ },
        ms: [0, T],
        left: 1,
      },
      dynamodb: { answer: { error: 'DynamoDB PutItem failed', cause: /ECONNREFUSED|ECONNRESET/ }, ms: [0, T], left: 1 },
    },
  },
  {
    fault: 'new connections hang',
    says: 'fails at the deadline, and nothing is sent later on a connection that becomes ready',
    inject: (stack) => resetAll(stack, 'hang'),
    stores: {
      redis: { answer: { error: `Redis connection not ready within ${T} ms` }, ms: [T - 5, 2 * T + 500], left: 1 },
      // The request was written to a socket that accepted it: whether it landed is unknown.
      dynamodb: { answer: { error: unknownDynamoDb }, ms: [2 * T - 5, 2 * T + 1_000], left: 1 },
    },
  },
  {
    fault: 'half-open connection',
    says: 'fails at the deadline, settled as not applied by a lookup on a new connection',
    inject: (stack) => stack.proxy.blackholeExisting(),
    stores: {
      redis: { answer: { error: notAppliedRedis }, ms: [T - 5, T + 500], left: 1 },
      dynamodb: { answer: { error: notAppliedDynamoDb }, ms: [T - 5, T + 1_000], left: 1 },
    },
  },
  {
    fault: 'half-open, with more idle connections in the pool',
    says: 'settles the write as not applied: the lookup does not wait on another of the silenced connections',
    inject: async (stack, store) => {
      // DynamoDB's client keeps a socket per concurrent request; Redis's one connection serves all.
      await Promise.all([store.increment(KEY), store.increment(KEY), store.increment(KEY)]);
      stack.proxy.blackholeExisting();
    },
    stores: {
      redis: { answer: { error: notAppliedRedis }, ms: [T - 5, T + 500], left: 4 },
      dynamodb: { answer: { error: notAppliedDynamoDb }, ms: [T - 5, T + 1_000], left: 4 },
    },
  },
  {
    fault: "half-open on a new connection just before its first write (/hello/again's)",
    says: 'settles the write as not applied: the record of outcomes was there before the write',
    inject: (stack) => atFirstWrite(stack, 'increment', 'half-open'),
    stores: {
      redis: { answer: { error: notAppliedRedis }, ms: [T - 5, T + 500], left: 1 },
      dynamodb: { answer: { error: notAppliedDynamoDb }, ms: [T - 5, T + 1_000], left: 1 },
    },
  },
  {
    fault: "half-open on a new connection just before its first write (/hello's)",
    says: 'settles the write as not applied',
    inject: (stack) => atFirstWrite(stack, 'start', 'half-open'),
    call: 'start',
    stores: {
      redis: { answer: { error: notAppliedRedis }, ms: [T - 5, T + 500], left: 1 },
      dynamodb: {
        answer: {
          error: `DynamoDB did not answer the PutItem within ${T} ms; the write was not applied, and now cannot be`,
        },
        ms: [T - 5, T + 1_000],
        left: 1,
      },
    },
  },
  {
    fault: "reply lost after a new connection's first write (/hello/again's)",
    says: 'answers the number the write got',
    inject: (stack) => atFirstWrite(stack, 'increment', 'lose-replies'),
    stores: {
      redis: { answer: { count: 2 }, ms: [T - 5, T + 500], left: 2 },
      dynamodb: { answer: { count: 2 }, ms: [T - 5, T + 1_000], left: 2 },
    },
  },
  {
    fault: `replies lost to ${BURST} concurrent writes`,
    says: 'answers each the number it got: every record is read back, none overwritten',
    inject: (stack) => stack.proxy.loseRepliesOnExisting(),
    call: 'burst',
    stores: {
      redis: { answer: { count: [2, 3, 4, 5, 6, 7] }, ms: [T - 5, T + 500], left: 1 + BURST },
      dynamodb: { answer: { count: [2, 3, 4, 5, 6, 7] }, ms: [T - 5, T + 1_000], left: 1 + BURST },
    },
  },
  {
    fault: 'idle connection dropped by the network',
    says: 'replaces a connection idle longer than the limit before using it: no error',
    options: { timeoutMs: ROOMY_TIMEOUT_MS, maxIdleMs: 100 },
    inject: async (stack) => {
      await sleep(150);
      stack.proxy.blackholeExisting();
    },
    stores: {
      redis: { answer: { count: 2 }, ms: [0, 1_000], left: 2 },
      dynamodb: { answer: { count: 2 }, ms: [0, 1_000], left: 2 },
    },
  },
  {
    fault: 'every connection reset while idle',
    says: 'counts on a new connection: no error',
    inject: (stack) => resetAll(stack, 'forward'),
    stores: {
      redis: { answer: { count: 2 }, ms: [0, T], left: 2 },
      dynamodb: { answer: { count: 2 }, ms: [0, T], left: 2 },
    },
  },
  {
    fault: 'connection reset under a command on its way',
    says: 'settles the write as not applied once its deadline has passed',
    inject: (stack) => stack.proxy.setLatency(50),
    during: async (stack) => {
      await sleep(10);
      stack.proxy.resetAll();
      stack.proxy.heal(); // new connections are quick
    },
    stores: {
      redis: {
        answer: { error: 'Redis connection failed; the write was not applied, and now cannot be' },
        ms: [T - 5, T + 500],
        left: 1,
      },
      dynamodb: {
        // The cause is the reset the write met, as the request's log line shows it.
        answer: {
          error: 'DynamoDB UpdateItem failed; the write was not applied, and now cannot be',
          cause: /ECONNRESET|socket hang up/,
        },
        ms: [0, T + 1_000],
        left: 1,
      },
    },
  },
  {
    fault: 'latency above the deadline',
    says: 'fails; Redis refuses the late write, DynamoDB may apply it (the outcome is unknown)',
    lateMs: 2 * (T + 100),
    inject: (stack) => {
      stack.proxy.setLatency(T + 100);
      return resetAll(stack, 'forward'); // the new connection's handshake is slow too
    },
    stores: {
      redis: { answer: { error: /^Redis / }, ms: [T - 5, 2 * T + 500], left: 1 },
      dynamodb: { answer: { error: unknownDynamoDb }, ms: [T - 5, 2 * T + 1_000], left: [1, 2] },
    },
  },
  {
    fault: 'latency below the deadline',
    says: 'counts, in a round trip or more',
    inject: (stack) => stack.proxy.setLatency(T / 4),
    stores: {
      redis: { answer: { count: 2 }, ms: [T / 2 - 5, T + 500], left: 2 },
      dynamodb: { answer: { count: 2 }, ms: [T / 2 - 5, T + 1_000], left: 2 },
    },
  },
  {
    fault: 'connection closed after 20 bytes',
    says: 'fails, and changes nothing',
    inject: (stack) => {
      stack.proxy.setCloseAfterBytes(20);
      return resetAll(stack, 'forward');
    },
    stores: {
      redis: { answer: { error: 'Redis connection failed' }, ms: [0, T], left: 1 },
      // The request was cut on its way; so was every lookup.
      dynamodb: {
        answer: { error: 'DynamoDB UpdateItem failed, and so did asking whether the write was applied' },
        ms: [0, 2 * T + 1_000],
        left: 1,
      },
    },
  },
  {
    fault: 'store frozen (SIGSTOP)',
    says: 'fails once the lookup too has had its time; Redis refuses the write when it resumes, DynamoDB applies it',
    lateMs: 200,
    inject: (stack) => stack.server.freeze(),
    stores: {
      redis: { answer: { error: unknownRedis }, ms: [2 * T - 5, 2 * T + 500], left: 1 },
      dynamodb: { answer: { error: unknownDynamoDb }, ms: [2 * T - 5, 2 * T + 1_000], left: 2 },
    },
  },
  {
    fault: 'command held on its way, delivered after the deadline',
    says: 'fails at the deadline, and the held write changes nothing when it arrives',
    lateMs: 200,
    inject: (stack) => stack.proxy.stallExisting(),
    stores: {
      redis: { answer: { error: notAppliedRedis }, ms: [T - 5, T + 500], left: 1 },
      dynamodb: { answer: { error: notAppliedDynamoDb }, ms: [T - 5, T + 1_000], left: 1 },
    },
  },
  {
    fault: "command held on its way, and the first lookup's reply lost to a reset",
    says: 'asks again, and settles the write as not applied from the mark the first lookup left',
    lateMs: 200,
    inject: (stack) => {
      stack.proxy.stallExisting();
      // The first reply the store sends from now on (held ones aside) is the first lookup's.
      stack.proxy.afterServerSent(1, () => stack.proxy.resetAll());
    },
    stores: {
      redis: { answer: { error: notAppliedRedis }, ms: [T - 5, T + 500], left: 1 },
      dynamodb: { answer: { error: notAppliedDynamoDb }, ms: [T - 5, T + 1_000], left: 1 },
    },
  },
  {
    fault: "command held on its way, and the lookup's mark throttled (its read is not)",
    says: 'says the outcome is unknown: with no mark in place the held write may still land, and it does',
    lateMs: 200,
    inject: (stack) => {
      stack.proxy.stallExisting();
      stack.proxy.setCannedReply(throttledReply('ThrottlingException'), 'DynamoDB_20120810.UpdateItem');
    },
    stores: {
      dynamodb: { answer: { error: unknownDynamoDb }, ms: [T - 55, T + 1_000], left: 2 },
    },
  },
  {
    fault: 'reply lost after the write',
    says: 'answers the number the write got, read from its record after the deadline',
    inject: (stack) => stack.proxy.loseRepliesOnExisting(),
    stores: {
      redis: { answer: { count: 2 }, ms: [T - 5, T + 500], left: 2 },
      dynamodb: { answer: { count: 2 }, ms: [T - 5, T + 1_000], left: 2 },
    },
  },
  {
    fault: "reply lost after a /hello's write",
    says: 'answers 1',
    inject: (stack) => stack.proxy.loseRepliesOnExisting(),
    call: 'start',
    stores: {
      redis: { answer: { count: 1 }, ms: [T - 5, T + 500], left: 1 },
      dynamodb: { answer: { count: 1 }, ms: [T - 5, T + 1_000], left: 1 },
    },
  },
  {
    fault: 'reply lost, and the lookup refused for a moment',
    says: 'asks again, and answers the number the write got',
    inject: (stack) => {
      stack.proxy.loseRepliesOnExisting();
      stack.proxy.setNewConnections('refuse');
    },
    during: async (stack) => {
      await sleep(T + 100);
      stack.proxy.heal();
    },
    stores: {
      redis: { answer: { count: 2 }, ms: [T - 5, 2 * T + 500], left: 2 },
      dynamodb: { answer: { count: 2 }, ms: [T - 5, 2 * T + 1_000], left: 2 },
    },
  },
  {
    fault: 'reply lost, and new connections hang for a moment while it is looked up',
    says: 'asks again on another connection while the first lookup hangs, and answers the number',
    inject: (stack) => {
      stack.proxy.loseRepliesOnExisting();
      stack.proxy.setNewConnections('hang');
    },
    during: async (stack) => {
      await sleep(T + T / 6); // DynamoDB's lookup begins when the write times out, at T
      stack.proxy.setNewConnections('forward');
    },
    stores: {
      dynamodb: { answer: { count: 2 }, ms: [T - 5, 2 * T + 1_000], left: 2 },
    },
  },
  {
    fault: 'reply lost, and the lookup refused until it gives up',
    says: 'says the outcome is unknown, no earlier than the deadline; the write was applied',
    inject: (stack) => {
      stack.proxy.loseRepliesOnExisting();
      stack.proxy.setNewConnections('refuse');
    },
    stores: {
      redis: { answer: { error: unknownRedis }, ms: [T - 5, 2 * T + 500], left: 2 },
      dynamodb: { answer: { error: unknownDynamoDb }, ms: [T - 5, 2 * T + 1_000], left: 2 },
    },
  },
  ...(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded'] as const).map(
    (exception): Row => ({
      fault: `DynamoDB throttles (${exception})`,
      says: 'fails after one attempt (an ADD retried may count twice), saying it was throttled',
      inject: (stack) => stack.proxy.setCannedReply(throttledReply(exception)),
      stores: {
        dynamodb: {
          answer: {
            error: `DynamoDB throttled the UpdateItem (${exception}); the table or the item is over its capacity`,
            cause: new RegExp(`^${exception}: `),
          },
          // The SDK's own retries would wait at least 100 ms before a second attempt.
          ms: [0, 100],
          left: 1,
        },
      },
    }),
  ),
  {
    fault: 'DynamoDB answers 500 (InternalServerError), the lookup too',
    says: 'says the outcome is unknown: a 5xx may have been applied',
    inject: (stack) =>
      stack.proxy.setCannedReply(
        errorReply('500 Internal Server Error', 'InternalServerError', 'Internal server error'),
      ),
    stores: {
      dynamodb: {
        answer: {
          error: 'DynamoDB UpdateItem failed, and so did asking whether the write was applied',
          cause: /^ReplyLostError: DynamoDB UpdateItem failed$/,
        },
        // Asked again every 50 ms until another pause would pass the deadline.
        ms: [T - 55, T + 1_000],
        left: 1,
      },
    },
  },
];

describe.each(['redis', 'dynamodb'] as const)(
  'Fault matrix, in this process: the %s adapter behind the fault proxy',
  (kind) => {
    let stack: Stack<Kind>;

    beforeAll(async () => {
      stack = await startStack({ store: kind, proxy: true, offline: false });
    });

    afterEach(async () => {
      await stack.heal();
    });

    afterAll(async () => {
      await stack?.stop();
    });

    it.each(ROWS.filter((row) => row.stores[kind]).map((row) => [row.fault, row.says, row] as const))(
      '%s: %s',
      async (_, __, row) => {
        const expected = row.stores[kind] as NonNullable<Row['stores'][Kind]>;
        // Prepare: a window open at 1, on a connection the adapter has used.
        const store = await stack.newStore({ timeoutMs: T, ...row.options });
        await store.start(KEY, 60_000);
        await row.inject(stack, store);
        // Act
        const call = () => {
          if (row.call === 'start') return store.start(KEY, 60_000);
          if (row.call === 'burst') {
            const increments = Array.from({ length: BURST }, () => store.increment(KEY));
            return Promise.all(increments).then((counts) => counts.sort((a, b) => (a ?? 0) - (b ?? 0)));
          }
          return store.increment(KEY);
        };
        const called = storeOutcome<unknown>(call());
        await row.during?.(stack);
        const outcome = await called;
        // Assess: the answer and its time
        if ('count' in expected.answer) {
          expect({ value: outcome.value, error: outcome.error }).toEqual({
            value: expected.answer.count,
            error: undefined,
          });
        } else {
          expect(outcome.error).toEqual(
            typeof expected.answer.error === 'string'
              ? expected.answer.error
              : expect.stringMatching(expected.answer.error),
          );
          if (expected.answer.cause)
            expect(`${outcome.cause?.name}: ${outcome.cause?.message}`).toMatch(expected.answer.cause);
        }
        expect(outcome.ms).toBeGreaterThanOrEqual(expected.ms[0]);
        expect(outcome.ms).toBeLessThan(expected.ms[1]);
        // ... and what is left once every held or late byte has arrived, from which the next number follows.
        await stack.heal();
        await sleep(row.lateMs ?? 0);
        const left = await stack.stored(KEY);
        const [least, most] = typeof expected.left === 'number' ? [expected.left, expected.left] : expected.left;
        expect(left).toBeGreaterThanOrEqual(least);
        expect(left).toBeLessThanOrEqual(most);
        expect(await store.increment(KEY)).toBe((left ?? 0) + 1);
      },
    );
  },
);
