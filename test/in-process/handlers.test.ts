import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GetHandler } from '../../lib/http';
import type { FaultProxy } from '../support/fault-proxy';
import { captureOutput, httpEvent, lambdaContext } from '../support/lambda-events';
import { type Stack, startStack } from '../support/stack';

/** Roomy, since no test here is about the deadline; a request reset under it answers at it. */
const STORE_TIMEOUT_MS = 1_000;

// The three handlers, imported in this process as Lambda would load them, against a real
// redis-server behind a fault proxy. What they log and the metrics they emit are read from its output.
describe('Handlers, in this process, against redis-server', () => {
  let stack: Stack<'redis'>;
  let proxy: FaultProxy;
  let inspector: Redis;
  let hello: GetHandler;
  let helloAgain: GetHandler;
  let health: GetHandler;
  let output: ReturnType<typeof captureOutput>;
  let coldStartLines: Record<string, unknown>[];

  const get = (handler: GetHandler, method = 'GET') => handler(httpEvent(method, '/'), lambdaContext());
  const logLines = () => output.lines().filter((line) => 'level' in line);
  const metricNames = () =>
    output
      .lines()
      .filter((line) => '_aws' in line)
      .flatMap((line) =>
        (line._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics.flatMap((set) =>
          set.Metrics.map((metric) => metric.Name),
        ),
      );

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', proxy: true, offline: false });
    ({ proxy, inspector } = stack);
    vi.stubEnv('REDIS_URL', stack.env.REDIS_URL);
    vi.stubEnv('STORE_TIMEOUT_MS', String(STORE_TIMEOUT_MS));
    vi.stubEnv('HELLO_WINDOW_SECONDS', '30');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'elecle-hello-test');
    output = captureOutput();
    ({ handler: hello } = await import('../../functions/hello'));
    ({ handler: helloAgain } = await import('../../functions/hello-again'));
    ({ handler: health } = await import('../../functions/health'));
    await get(health); // the service is built at import; this waits until it is
    coldStartLines = logLines();
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await stack?.stop();
    output?.stop(); // after the proxy's resets, whose warnings would only be noise here
  });

  // Each test starts from a store that answers, whatever the test before it did.
  beforeEach(async () => {
    proxy.heal();
    expect((await get(health)).statusCode).toBe(200);
    output.clear();
  });

  it('says at cold start which store and window it uses, and tags every line with the store', () => {
    expect(coldStartLines).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'service configured',
        store: 'redis',
        storeDetail: `redis at ${stack.env.REDIS_URL}`,
        windowMs: 30_000,
      }),
    );
  });

  it('answers GET /hello "Hello ELECLE 1" as plain text nobody may cache, and opens a 30 s window in Redis', async () => {
    const answer = await get(hello);
    expect(answer).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      body: 'Hello ELECLE 1',
    });
    expect(await inspector.get('hello:count')).toBe('1');
    expect(await inspector.pttl('hello:count')).toBeGreaterThan(29_000);
  });

  it('answers GET /hello/again with the next number, and "Expired!" once the window is gone', async () => {
    await get(hello);
    expect((await get(helloAgain)).body).toBe('Hello ELECLE 2');
    expect((await get(helloAgain)).body).toBe('Hello ELECLE 3');
    await inspector.del('hello:count');
    expect(await get(helloAgain)).toMatchObject({ statusCode: 200, body: 'Expired!' });
    expect(await inspector.exists('hello:count')).toBe(0);
  });

  it('answers HEAD on either route 405 with Allow: GET, and neither resets nor counts', async () => {
    await get(hello);
    await get(helloAgain);
    for (const handler of [hello, helloAgain]) {
      expect(await get(handler, 'HEAD')).toMatchObject({
        statusCode: 405,
        body: 'Method Not Allowed',
        headers: { allow: 'GET', 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      });
    }
    expect(await inspector.get('hello:count')).toBe('2');
  });

  it('answers an event that is not an HTTP API event 400, without touching the store', async () => {
    await get(hello);
    const answer = await helloAgain({ foo: 'bar' } as never, lambdaContext());
    expect(answer).toMatchObject({ statusCode: 400, body: 'Bad Request' });
    expect(await inspector.get('hello:count')).toBe('1');
  });

  it('answers GET /health "ok" without touching the window, and logs nothing at INFO', async () => {
    await get(hello);
    output.clear();
    expect(await get(health)).toMatchObject({ statusCode: 200, body: 'ok' });
    expect(await inspector.get('hello:count')).toBe('1');
    expect(logLines()).toEqual([]);
  });

  it('logs one INFO line per request, with its outcome, status, count and request id', async () => {
    const context = lambdaContext();
    await hello(httpEvent('GET', '/hello'), context);
    const lines = logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'request',
      outcome: 'opened',
      statusCode: 200,
      count: 1,
      function_request_id: context.awsRequestId,
    });
  });

  it('logs how long each request took, to the hundredth of a millisecond', async () => {
    proxy.setLatency(30);
    const startedAt = performance.now();
    await get(hello);
    const elapsedMs = performance.now() - startedAt;
    const [line] = logLines();
    expect(line?.durationMs).toBeGreaterThanOrEqual(50); // two 30 ms hops at least
    expect(line?.durationMs).toBeLessThanOrEqual(elapsedMs);
  });

  it('emits the metric of each outcome: WindowsOpened, Increments, ExpiredAnswers', async () => {
    await get(hello);
    await get(helloAgain);
    await inspector.del('hello:count');
    await get(helloAgain);
    const counted = metricNames().filter((name) => name !== 'StoreLatency');
    expect(counted).toEqual(['WindowsOpened', 'Increments', 'ExpiredAnswers']);
    expect(metricNames().filter((name) => name === 'StoreLatency')).toHaveLength(3);
  });

  it("emits in the service's namespace, with each store call's latency in milliseconds", async () => {
    const startedAt = performance.now();
    await get(hello);
    const elapsedMs = performance.now() - startedAt;
    const [line] = output.lines().filter((entry) => '_aws' in entry);
    const emf = line?._aws as { CloudWatchMetrics: { Namespace: string; Metrics: object[] }[] } | undefined;
    const { Namespace, Metrics } = emf?.CloudWatchMetrics[0] ?? { Namespace: undefined, Metrics: [] };
    expect(Namespace).toBe('ElecleHello');
    expect(Metrics).toContainEqual({ Name: 'StoreLatency', Unit: 'Milliseconds' });
    expect(line?.StoreLatency).toBeGreaterThan(0);
    expect(line?.StoreLatency).toBeLessThanOrEqual(elapsedMs);
  });

  it('answers 503 "Service Unavailable" in bounded time while Redis is unreachable, and shows the client no error', async () => {
    proxy.setNewConnections('refuse');
    proxy.resetAll();
    const startedAt = performance.now();
    const answer = await get(helloAgain);
    expect(answer).toEqual({
      statusCode: 503,
      // `no` when the reset had reached the client before the write; else its outcome is unknown.
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'write-applied': expect.stringMatching(/^(no|unknown)$/),
      },
      body: 'Service Unavailable',
    });
    const elapsedMs = performance.now() - startedAt;
    // Sent on the connection just reset, the write may have landed: the request waits for its
    // deadline, then asks (on a new connection, refused) whether it did, for one more timeout.
    expect(elapsedMs).toBeLessThan(2 * STORE_TIMEOUT_MS + 1_000);
    expect(metricNames()).toContain('StoreFailures');
    // The log line says how long the client waited, to the hundredth of a millisecond.
    const [line] = logLines().filter((entry) => entry.message === 'request failed');
    expect(line?.durationMs).toBeGreaterThan(0);
    expect(line?.durationMs).toBeLessThanOrEqual(elapsedMs);
    expect(String(line?.durationMs)).toMatch(/^\d+(\.\d{1,2})?$/);
  });

  it('logs an outage once in full, then one short line per failed request, then how many failed once it is over', async () => {
    // Prepare
    proxy.setNewConnections('refuse');
    proxy.resetAll();
    await sleep(20); // the reset has reached the client: no request is sent on the old connection
    // Act
    for (let i = 0; i < 4; i += 1) expect((await get(helloAgain)).statusCode).toBe(503);
    proxy.heal();
    expect((await get(hello)).statusCode).toBe(200);
    // Assess
    const lines = logLines();
    const failed = lines.filter((line) => line.message === 'request failed');
    expect(failed).toHaveLength(4);
    expect((failed[0]?.error as { stack?: string } | undefined)?.stack).toContain('StoreUnavailableError');
    for (const line of failed.slice(1)) expect(line.error).not.toHaveProperty('stack');
    expect(lines.filter((line) => line.level === 'WARN')).toHaveLength(1);
    const recovered = lines.filter((line) => line.message === 'store available again');
    expect(recovered).toEqual([expect.objectContaining({ failedRequests: 4, store: 'redis' })]);
    expect(recovered[0]?.outageMs).toBeGreaterThanOrEqual(0);
    expect(recovered[0]?.outageMs).toBeLessThan(5_000);
    expect(lines).toHaveLength(4 + 1 + 1 + 2); // failures, one warning, recovery, "ready again" and the request
  });
});
