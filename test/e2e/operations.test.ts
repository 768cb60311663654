import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_KEY } from '../../lib/greeting';
import { METRIC } from '../../lib/telemetry';
import { type RedisStack, startRedisStack } from '../support/redis-stack';

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
const metricNames = (output: string) =>
  jsonLines(output)
    .flatMap(
      (line) =>
        (line._aws as { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] } | undefined)
          ?.CloudWatchMetrics ?? [],
    )
    .flatMap((directive) => directive.Metrics.map((metric) => `${directive.Namespace}/${metric.Name}`));

describe('Operations: logs, metrics, /health and the smoke test, through serverless-offline', () => {
  let stack: RedisStack;

  beforeAll(async () => {
    stack = await startRedisStack({ LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' }, { password: PASSWORD });
  });

  afterAll(() => stack?.stop());

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
    const before = requestLines(offline.output()).length;
    await offline.get('/hello');
    await offline.get('/hello/again');
    await offline.get('/hello', { method: 'HEAD' });
    const lines = requestLines(offline.output()).slice(before);
    expect(lines.map((line) => [line.function_name, line.outcome, line.statusCode, line.count])).toEqual([
      ['elecle-hello-local-hello', 'opened', 200, 1],
      ['elecle-hello-local-helloAgain', 'counted', 200, 2],
    ]); // HEAD matches no route, so no function runs (and logs) for it
    for (const line of lines) {
      expect(line).toMatchObject({ level: 'INFO', store: 'redis', service: 'elecle-hello-local', cold_start: false });
      expect(line.function_request_id).toEqual(expect.any(String));
      expect(line.durationMs).toEqual(expect.any(Number));
    }
  });

  it('marked the first logged request of each function as a cold start', () => {
    const first = new Map<unknown, unknown>();
    for (const line of requestLines(stack.offline.output())) {
      if (!first.has(line.function_name)) first.set(line.function_name, line.cold_start);
    }
    // A healthy /health logs at DEBUG only, so hello and helloAgain are the functions seen here.
    expect(Object.fromEntries(first)).toEqual({
      'elecle-hello-local-hello': true,
      'elecle-hello-local-helloAgain': true,
    });
  });

  it('emits the counter metrics and the store latency as CloudWatch embedded metrics', () => {
    const names = metricNames(stack.offline.output());
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

  it('answers 503 within 1 s from /health and every route while Redis is down, and logs why', async () => {
    const { offline, redis } = stack;
    await redis.stop();
    try {
      for (const path of ['/health', '/hello/again']) {
        const startedAt = performance.now();
        const response = await offline.get(path);
        expect({ status: response.status, body: response.body }).toEqual({ status: 503, body: 'Service Unavailable' });
        expect(performance.now() - startedAt).toBeLessThan(1_000);
      }
      const failure = requestLines(offline.output()).at(-1);
      expect(failure).toMatchObject({ level: 'ERROR', outcome: 'unavailable', statusCode: 503, store: 'redis' });
      expect(failure?.error).toMatchObject({
        name: 'StoreUnavailableError',
        stack: expect.any(String),
        cause: expect.any(Object),
      });
      expect(metricNames(offline.output())).toContain(`ElecleHello/${METRIC.storeFailures}`);
    } finally {
      await redis.restart();
    }
  });

  it('fails the smoke test (exit 1) when the service is not right, saying which step', async () => {
    const { redis, offline } = stack;
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

  it('never logs the Redis password, only a masked URL', () => {
    const output = stack.offline.output();
    expect(output).not.toContain(PASSWORD);
    expect(output).toContain(`redis://:****@localhost:${stack.redis.port}`);
  });
});
