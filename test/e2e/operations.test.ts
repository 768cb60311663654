import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HELLO_KEY } from '../../lib/hello';
import { METRIC } from '../../lib/telemetry';
import { askUntilAnswered } from '../support/answers';
import type { Offline } from '../support/offline';
import { openWindow } from '../support/open-window';
import { type Stack, startStack } from '../support/stack';

const run = promisify(execFile);
const PASSWORD = 's3cret-Pa55';

type Line = Record<string, unknown>;

/** The JSON lines serverless-offline printed (the functions' logs and metrics), in order. */
function jsonLines(output: string): Line[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}
const requestLines = (output: string) =>
  jsonLines(output).filter((line) => line.message?.toString().startsWith('request'));
const metricNames = (lines: Line[]) =>
  lines
    .flatMap(
      (line) =>
        (line._aws as { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] } | undefined)
          ?.CloudWatchMetrics ?? [],
    )
    .flatMap((directive) => directive.Metrics.map((metric) => `${directive.Namespace}/${metric.Name}`));

const HELLO = 'elecle-hello-local-hello';
const HELLO_AGAIN = 'elecle-hello-local-helloAgain';

/** The last request line after the first `skip` that `matches`, waited for (a pipe may bring it after the answer). */
async function loggedLine(offline: Offline, skip: number, matches: (line: Line) => boolean): Promise<Line> {
  const find = () => requestLines(offline.output()).slice(skip).findLast(matches);
  const deadline = performance.now() + 2_000;
  let line = find();
  while (!line && performance.now() < deadline) {
    await sleep(20);
    line = find();
  }
  if (!line) throw new Error('the request line looked for was not logged within 2 s');
  return line;
}

describe('Operations: logs, metrics, /health and the smoke test, through serverless-offline', () => {
  let stack: Stack<'redis'>;

  beforeAll(async () => {
    stack = await startStack({
      store: 'redis',
      password: PASSWORD,
      env: { LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' },
    });
  });

  afterAll(() => stack?.stop());

  // Any test may run first or after any other: each starts healthy, loaded, at a count of 2, those lines logged.
  beforeEach(async () => {
    const { offline } = stack;
    expect((await askUntilAnswered(offline, '/health')).at(-1)).toMatchObject({ status: 200, body: 'ok' });
    const skip = requestLines(offline.output()).length;
    await openWindow(offline);
    await loggedLine(offline, skip, (line) => line.function_name === HELLO_AGAIN && line.count === 2);
  });

  it('answers /health with 200 "ok" and leaves the window alone', async () => {
    const { offline, inspector } = stack;
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
    const health = await offline.get('/health');
    expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: 'ok' });
    expect(health.headers.get('cache-control')).toBe('no-store');
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
    expect(await inspector.get(HELLO_KEY)).toBe('2');
  });

  it('logs one JSON line per request with function, request id, cold start, store, outcome, count and duration', async () => {
    const { offline } = stack;
    const skip = requestLines(offline.output()).length;
    await offline.get('/hello');
    await offline.get('/hello/again');
    await offline.get('/hello', { method: 'HEAD' });
    await offline.get('/hello/again');
    // The last request's line has come, so every line before it has too.
    await loggedLine(offline, skip, (line) => line.count === 3);
    const lines = requestLines(offline.output()).slice(skip);
    expect(lines.map((line) => [line.function_name, line.outcome, line.statusCode, line.count])).toEqual([
      [HELLO, 'opened', 200, 1],
      [HELLO_AGAIN, 'counted', 200, 2],
      [HELLO_AGAIN, 'counted', 200, 3],
    ]); // HEAD matches no route, so no function runs (and logs) for it
    for (const line of lines) {
      expect(line).toMatchObject({ level: 'INFO', store: 'redis', service: 'elecle-hello-local', cold_start: false });
      expect(line.function_request_id).toEqual(expect.any(String));
      expect(line.durationMs).toEqual(expect.any(Number));
    }
  });

  it('marks the first request of each counting function as a cold start, and no later one', async () => {
    const { offline } = stack;
    const skip = requestLines(offline.output()).length;
    await offline.get('/hello');
    await offline.get('/hello/again');
    await loggedLine(offline, skip, (line) => line.function_name === HELLO_AGAIN);
    // A healthy /health logs at DEBUG only, so its own cold start is not in the log.
    for (const name of [HELLO, HELLO_AGAIN]) {
      const coldStarts = requestLines(offline.output())
        .filter((line) => line.function_name === name)
        .map((line) => line.cold_start);
      expect(coldStarts.length, name).toBeGreaterThanOrEqual(2);
      expect(coldStarts, name).toEqual([true, ...Array(coldStarts.length - 1).fill(false)]);
    }
  });

  it('emits the counter metrics and the store latency as CloudWatch embedded metrics', async () => {
    const { offline } = stack;
    const skip = requestLines(offline.output()).length;
    const skipJson = jsonLines(offline.output()).length;
    await offline.get('/hello');
    await offline.get('/hello/again');
    // Metrics are printed before the request's log line.
    await loggedLine(offline, skip, (line) => line.function_name === HELLO_AGAIN);
    const names = metricNames(jsonLines(offline.output()).slice(skipJson));
    for (const name of [METRIC.windowsOpened, METRIC.increments, METRIC.storeLatency]) {
      expect(names).toContain(`ElecleHello/${name}`);
    }
  });

  it('prints every step of the smoke test and exits 0 against a healthy service', async () => {
    const { stdout } = await run(process.execPath, ['node_modules/.bin/tsx', 'tools/smoke.ts', stack.offline.baseUrl]);
    expect(stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^ok {3}GET \/health -> 200 "ok"/),
      expect.stringMatching(/^ok {3}GET \/hello -> 200 "Hello ELECLE 1"/),
      expect.stringMatching(/^ok {3}GET \/hello\/again -> 200 "Hello ELECLE 2"/),
      expect.stringMatching(/^ok {3}GET \/hello\/again -> 200 "Hello ELECLE 3"/),
      expect.stringMatching(/: 4 passed, 0 failed$/),
    ]);
  });

  it('logs a request that failed while Redis is down at ERROR, with the error and its cause, and counts it in StoreFailures', async () => {
    // The answers themselves (a bare 503 in time, on every route) are test/e2e/service-faults.ts's.
    const { offline, server: redis } = stack;
    const skip = requestLines(offline.output()).length;
    const skipJson = jsonLines(offline.output()).length;
    await redis.stop();
    try {
      expect((await offline.get('/hello/again')).status).toBe(503);
      const failure = await loggedLine(offline, skip, (line) => line.function_name === HELLO_AGAIN);
      expect(failure).toMatchObject({ level: 'ERROR', outcome: 'unavailable', statusCode: 503, store: 'redis' });
      // StoreUnavailableError, or OutcomeUnknownError when the request's command was already written as
      // Redis went away (its lookup then found Redis down too): a 503 either way, logged whole.
      expect(failure.error).toMatchObject({
        name: expect.stringMatching(/^(StoreUnavailableError|OutcomeUnknownError)$/),
        stack: expect.any(String),
        cause: expect.any(Object),
      });
      expect(metricNames(jsonLines(offline.output()).slice(skipJson))).toContain(`ElecleHello/${METRIC.storeFailures}`);
    } finally {
      await redis.restart();
    }
  });

  it('fails the smoke test (exit 1) when the service is not right, saying which step', async () => {
    const { server: redis, offline } = stack;
    await redis.stop();
    try {
      const outcome = await run(process.execPath, ['node_modules/.bin/tsx', 'tools/smoke.ts', offline.baseUrl]).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code: number; stdout: string }) => error,
      );
      expect(outcome.code).toBe(1);
      expect(outcome.stdout).toContain('FAIL GET /health: expected 200 "ok", got 503 "Service Unavailable"');
    } finally {
      await redis.restart();
    }
  });

  it('never logs the Redis password, not even when Redis is down, only a masked URL', async () => {
    const { offline, server: redis } = stack;
    const skip = requestLines(offline.output()).length;
    await redis.stop();
    try {
      expect((await offline.get('/hello/again')).status).toBe(503);
      await loggedLine(offline, skip, (line) => line.outcome === 'unavailable');
    } finally {
      await redis.restart();
    }
    const output = offline.output();
    expect(output).not.toContain(PASSWORD);
    expect(output).toContain(`redis://:****@localhost:${redis.port}`);
  });
});
