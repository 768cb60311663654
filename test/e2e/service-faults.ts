import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { askUntilAnswered, countedNumbers, timedGet } from '../support/answers';
import { throttledReply } from '../support/dynalite';
import { type Stack, startStack } from '../support/stack';

// The fault matrix at the service layer: the faults only the whole service shows, through real
// serverless-offline (each function its own instance and connection) and a real store behind the
// fault proxy. Every other fault is asserted once, at the adapter, in
// test/in-process/store-faults.test.ts. Run for each store by service-faults-<store>.test.ts.

type Kind = 'redis' | 'dynamodb';

/**
 * Roomy: a lookup after a lost reply must connect and answer within it even on a busy machine, and
 * dynalite, in a process that competes for the CPU, applies a few hundred conditional writes a second.
 */
const STORE_TIMEOUT_MS: Record<Kind, number> = { redis: 1_000, dynamodb: 2_000 };
/**
 * Concurrent /hello/again per burst: as many as the store settles within the deadline on a busy
 * 2-core machine (dynalite applies a few hundred conditional writes a second), and about how many
 * bytes it sends per reply to an increment (a RESP integer; an HTTP response).
 */
const BURST: Record<Kind, { requests: number; replyBytes: number }> = {
  redis: { requests: 300, replyBytes: 7 },
  dynamodb: { requests: 100, replyBytes: 300 },
};

/**
 * How soon a stopped store is answered 503. Through the proxy, a stopped store is a connection
 * accepted and then closed: ioredis sends nothing before its handshake, so the answer comes at once;
 * the SDK has sent its request, which may have been applied, and its lookups fail the same way, so
 * the outcome is unknown, and answered once the lookups have had their time.
 */
const STOPPED_ANSWERED_WITHIN_MS: Record<Kind, number> = {
  redis: 1_000,
  dynamodb: 2 * STORE_TIMEOUT_MS.dynamodb + 1_000,
};

/** Set by Node's HTTP server on every answer; they say nothing about the service. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive']);
const serviceHeaders = (headers: Headers) =>
  Object.fromEntries([...headers].filter(([name]) => !TRANSPORT_HEADERS.has(name)));
const unavailable = (writeApplied: 'no' | 'unknown') => ({
  status: 503,
  body: 'Service Unavailable',
  headers: {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': String('Service Unavailable'.length),
    'write-applied': writeApplied,
  },
});

/**
 * What each route's 503 says of its write when the store has stopped: Redis sends nothing before a
 * new connection's handshake, so nothing was counted; the SDK has sent its request, which may have
 * been applied, and could not ask (see STOPPED_ANSWERED_WITHIN_MS). /health writes nothing.
 */
const STOPPED_WRITE_APPLIED: Record<Kind, Record<string, 'no' | 'unknown'>> = {
  redis: { '/hello': 'no', '/hello/again': 'no', '/health': 'no' },
  dynamodb: { '/hello': 'unknown', '/hello/again': 'unknown', '/health': 'no' },
};

export function describeServiceFaults(kind: Kind): void {
  describe(`Fault matrix, through serverless-offline: ${kind} behind the fault proxy`, () => {
    let stack: Stack<Kind>;

    beforeAll(async () => {
      stack = await startStack({
        store: kind,
        proxy: true,
        env: { STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS[kind]), HELLO_WINDOW_SECONDS: '600' },
      });
    });

    afterEach(async () => {
      await stack.heal();
    });

    afterAll(async () => {
      await stack?.stop();
    });

    /** A window at 2, opened and counted through every function's connection, whatever the test before left. */
    const windowAtTwo = async () => {
      expect((await askUntilAnswered(stack.offline, '/hello')).at(-1)?.body).toBe('Hello ELECLE 1');
      expect((await askUntilAnswered(stack.offline, '/hello/again')).at(-1)?.body).toBe('Hello ELECLE 2');
    };

    it(`store stopped: every route, /health too, answers a bare 503 (saying whether its write may have counted) within ${STOPPED_ANSWERED_WITHIN_MS[kind]} ms, the log gets the error, and it answers right again within 2 s of the store coming back`, async () => {
      // Prepare
      await windowAtTwo();
      const logStart = stack.offline.output().length;
      await stack.server.stop();
      await sleep(50); // the close has reached the service: no request is sent on a dying connection
      // Act: each route at once (each its own function and connection), timed.
      const answers = await Promise.all(
        ['/hello', '/hello/again', '/health'].map(async (path) => {
          const startedAt = performance.now();
          const { status, body, headers } = await stack.offline.get(path);
          const fast = performance.now() - startedAt < STOPPED_ANSWERED_WITHIN_MS[kind];
          return { path, status, body, headers: serviceHeaders(headers), fast };
        }),
      );
      await stack.server.restart();
      const back = await askUntilAnswered(stack.offline, '/hello', 2_000); // asked for 2 s at most
      // Assess: all the client sees, apart from the transport's own headers, and nothing of the error.
      for (const answer of answers) {
        const writeApplied = STOPPED_WRITE_APPLIED[kind][answer.path] ?? 'no';
        expect(answer).toEqual({ path: answer.path, ...unavailable(writeApplied), fast: true });
      }
      expect(JSON.stringify(answers)).not.toMatch(
        new RegExp(`error|stack|redis|dynamo|ECONN|127\\.0\\.0\\.1|${stack.proxy.port}|${stack.server.port}`, 'i'),
      );
      // The log gets each request's error: a StoreUnavailableError, or the subclass that says more.
      const failed = stack.offline
        .output()
        .slice(logStart)
        .split('\n')
        .filter((line) => line.includes('"message":"request failed"'));
      expect(failed).toHaveLength(3);
      for (const line of failed) {
        expect(line).toMatch(/"error":\{"name":"(StoreUnavailableError|ReplyLostError|OutcomeUnknownError)"/);
      }
      // The store came back empty (nothing was saved): a new window counts from 1.
      expect(back.at(-1)).toMatchObject({ status: 200, body: 'Hello ELECLE 1' });
      expect((await stack.offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
    });

    it('a reply lost, and the store refusing every lookup: 503 Write-Applied unknown, although the write counted; a 503 that changed nothing says no', async () => {
      // Prepare
      await windowAtTwo();
      const { proxy, offline } = stack;
      // Act: the increment reaches the store and its reply is lost; every new connection is refused.
      proxy.loseRepliesOnExisting();
      proxy.setNewConnections('refuse');
      const lost = await timedGet(offline, '/hello/again');
      proxy.heal();
      // Then a refusal that surely changed nothing: Redis refuses the connection before anything is
      // sent on it (a refused HTTP connection may have carried the request); DynamoDB throttles.
      if (kind === 'redis') proxy.setNewConnections('refuse');
      else proxy.setCannedReply(throttledReply('ThrottlingException'));
      proxy.resetAll();
      const refused = await timedGet(offline, '/hello/again');
      proxy.heal();
      const [next] = countedNumbers(await askUntilAnswered(offline, '/hello/again'));
      // Assess: the first may have counted (it did: 3 was taken), the second changed nothing.
      expect([lost, refused].map(({ status, writeApplied }) => ({ status, writeApplied }))).toEqual([
        { status: 503, writeApplied: 'unknown' },
        { status: 503, writeApplied: 'no' },
      ]);
      expect(next).toBe(4);
    });

    const { requests, replyBytes } = BURST[kind];
    it.each([
      ['reset', 'a tenth'],
      ['reset', 'half'],
      ['half-open', 'a tenth'],
      ['half-open', 'half'],
    ] as const)(
      `%s after %s of the replies to a burst of ${requests} /hello/again: each 200 a number counted once, each 503 changed nothing, no outcome unknown`,
      async (fault, share) => {
        const replies = requests * (share === 'half' ? 0.5 : 0.1);
        // Prepare: every chunk between service and store takes 30 ms, so commands and replies are
        // on their way when the fault strikes, once the store has sent about that many replies.
        await windowAtTwo();
        const { proxy, offline } = stack;
        const connectionsBefore = proxy.accepted;
        const logStart = offline.output().length;
        proxy.setLatency(30);
        proxy.afterServerSent(replies * replyBytes, () => {
          if (fault === 'reset') proxy.resetAll();
          else proxy.blackholeExisting();
          proxy.setLatency(0);
        });
        // Act
        const answers = await Promise.all(Array.from({ length: requests }, () => timedGet(offline, '/hello/again')));
        // The fault bit: the service had to connect again before the burst was over.
        expect(proxy.accepted).toBeGreaterThan(connectionsBefore);
        proxy.heal();
        const [next] = countedNumbers(await askUntilAnswered(offline, '/hello/again'));
        // Assess
        for (const answer of answers.filter(({ status }) => status !== 200)) {
          expect({ status: answer.status, body: answer.body, writeApplied: answer.writeApplied }).toEqual({
            status: 503,
            body: 'Service Unavailable',
            writeApplied: 'no',
          });
        }
        const numbers = countedNumbers(answers).sort((a, b) => a - b);
        // Every lost reply was settled by its record: a broken record (a ring too small, a lookup
        // that reads the wrong slot) shows here, as unknown outcomes or numbers given twice.
        expect(offline.output().slice(logStart)).not.toContain('"name":"OutcomeUnknownError"');
        expect(numbers).toEqual(numbers.map((_, index) => 3 + index));
        expect(next).toBe(3 + numbers.length);
        expect(await stack.stored()).toBe(next);
      },
    );
  });
}
