// npm run bench: every layer of a /hello/again request side by side, against the same Redis.
//   limit    raw ioredis calling the adapter's script: one round trip, nothing else
//   handler  the packaged /hello/again handler in-process, logging and metrics as deployed
//   http     GET /hello/again through serverless-offline, in-process (npm start, compose) and
//            worker mode (Lambda-like), measured with autocannon
//   cold     a fresh node process importing each packaged bundle, to its first answer
// Each row first asks its layer with the window closed: every answer must count as unexpected,
// or the row's own count of unexpected answers would prove nothing.
// Prints one table, a warning for each layer more than 10% worse than in the committed
// bench/results.json (as a share of the same run's limit row), and writes results.json and its
// chart, results.svg, to bench/ (or BENCH_OUT_DIR).
// BENCH_SECONDS / BENCH_WARMUP_S / BENCH_COLD_RUNS shorten a run; BENCH_PACKAGE_DIR names a prod stage
// packaged already (npm test's), instead of packaging it again.
import { execFileSync, fork } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { INCREMENT_WHILE_OPEN } from '../lib/counter/redis';
import { startOffline } from '../test/support/offline';
import { type BundleRun, invokeBundle, packageStage, readPackagedStage } from '../test/support/packaged-stage';
import { TestRedisServer } from '../test/support/redis-server';
import { type BenchResults, type BenchRow, benchChart } from './chart.mjs';
import { describeRegressions, regressions } from './regressions.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const OUT_DIR = process.env.BENCH_OUT_DIR ?? join(ROOT, 'bench');
// A closed window asked for 0.25 s in a child, or 5 requests per connection over HTTP (a count:
// worker mode may take longer than a short row to start a thread per connection).
const CLOSED_WINDOW_S = 0.25;
const CLOSED_WINDOW_ANSWERS = 5;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);
const KEY = 'hello:count';
const isGreeting = (body: unknown) => String(body).startsWith('Hello ELECLE ');

interface Row extends BenchRow {
  requests: number;
  errors: number;
  /** Answers other than a 200 "Hello ELECLE n". */
  unexpected: number;
  /** The same layer asked first with the window closed: every answer is wrong. */
  closedWindow: { requests: number; unexpected: number };
  maxRssMb?: number;
  /** Redis calls per command during the row (warm-up included), from INFO commandstats. */
  redisCommands?: Record<string, number>;
}

const redis = await TestRedisServer.start();
const inspector = redis.client();
// A failed row must not leave redis-server running.
process.on('exit', () => {
  redis.stopSync();
});
const openWindow = () => inspector.set(KEY, 1, 'PX', 3_600_000); // every row counts inside one long window

const packaged = process.env.BENCH_PACKAGE_DIR;
console.error(
  `bench: ${SECONDS} s per row after ${WARMUP_S} s of warm-up; ${packaged ? `prod stage from ${packaged}` : 'packaging the prod stage...'}`,
);
const stage = packaged ? readPackagedStage('prod', packaged) : await packageStage('prod');
const bundles = Object.fromEntries(
  (['hello', 'helloAgain', 'health'] as const).map((name) => [
    name,
    { zip: stage.artifact(name), js: stage.unpack(name) },
  ]),
) as Record<'hello' | 'helloAgain' | 'health', { zip: string; js: string }>;

/** Calls per command since the last CONFIG RESETSTAT, from INFO commandstats. */
async function commandCalls(): Promise<Record<string, number>> {
  const info = await inspector.info('commandstats');
  return Object.fromEntries(
    [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, command, calls]) => [command, Number(calls)]),
  );
}

/** Runs one closed-loop layer in a plain node child process and counts the Redis commands it sent. */
async function childRow(mode: 'limit' | 'handler', concurrency: number): Promise<Row> {
  await inspector.del(KEY);
  const closed = await runChild(mode, concurrency, CLOSED_WINDOW_S, 0);
  await openWindow();
  await inspector.config('RESETSTAT');
  const row = await runChild(mode, concurrency, SECONDS, WARMUP_S);
  const calls = await commandCalls();
  // Leave out the inspector's own CONFIG RESETSTAT and INFO. PTTL and INCR run inside the script.
  const sent = Object.fromEntries(Object.entries(calls).filter(([command]) => !/^(config|info)/.test(command)));
  return { ...row, closedWindow: { requests: closed.requests, unexpected: closed.unexpected }, redisCommands: sent };
}

function runChild(mode: 'limit' | 'handler', concurrency: number, seconds: number, warmupS: number): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/load-child.mjs'), {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'], // the handler's log lines go where Lambda's would: away
      env: {
        ...process.env,
        MODE: mode,
        REDIS_URL: redis.url,
        BUNDLE: bundles.helloAgain.js,
        SCRIPT: INCREMENT_WHILE_OPEN,
        CONCURRENCY: String(concurrency),
        SECONDS: String(seconds),
        WARMUP_S: String(warmupS),
        // The handler as deployed: INFO request lines and metrics on.
        COUNTER_STORE: 'redis',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_METRICS_DISABLED: 'false',
        POWERTOOLS_SERVICE_NAME: 'elecle-hello-bench',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      },
    });
    child.once('message', (result) =>
      resolve({ layer: mode, concurrency, resolution: 'µs', ...(result as object) } as Row),
    );
    child.once('exit', (code) => reject(new Error(`${mode} child exited with ${code} before reporting`)));
  });
}

async function httpRows(mode: 'in-process' | 'worker'): Promise<Row[]> {
  const offline = await startOffline({
    env: { REDIS_URL: redis.url, LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' },
    ...(mode === 'worker' ? { params: ['offlineInProcess=false'] } : {}),
    output: 'discard',
  });
  const rows: Row[] = [];
  try {
    for (const concurrency of [10, 50]) {
      const url = `${offline.baseUrl}/hello/again`;
      // A non-2xx answer's body is no greeting either: the larger count is the number of wrong answers.
      const run = async (length: { duration: number } | { amount: number }) => {
        const result = await autocannon({ url, connections: concurrency, ...length, verifyBody: isGreeting });
        return { result, unexpected: Math.max(result.non2xx, result.mismatches) };
      };
      await inspector.del(KEY);
      const closed = await run({ amount: CLOSED_WINDOW_ANSWERS * concurrency });
      await openWindow();
      if (WARMUP_S > 0) await run({ duration: WARMUP_S });
      const { result, unexpected } = await run({ duration: SECONDS });
      rows.push({
        layer: `http ${mode}`,
        concurrency,
        requests: result.requests.total,
        rps: result.requests.total / SECONDS,
        p50us: result.latency.p50 * 1000,
        p99us: result.latency.p99 * 1000,
        resolution: 'ms',
        errors: result.errors + result.timeouts,
        unexpected,
        closedWindow: { requests: closed.result.requests.total, unexpected: closed.unexpected },
      });
    }
  } finally {
    await offline.stop();
  }
  if (rows.some((row) => row.errors > 0)) {
    // What serverless-offline said (its stderr; stdout's request lines are discarded) is the clue.
    console.error(`bench: http ${mode} had errors; serverless-offline said:\n${offline.output().slice(-4_000)}`);
  }
  return rows;
}

function redisBenchmark(): string {
  const out = execFileSync(
    'redis-benchmark',
    // 200,000 requests for 10 s rows: a short run stays short.
    ['-p', String(redis.port), '-t', 'incr', '-n', String(20_000 * SECONDS), '-c', '50', '-q'],
    {
      encoding: 'utf8',
    },
  );
  return out.split('\r').at(-1)?.trim() ?? out.trim();
}

async function coldStarts() {
  const cold = [];
  for (const name of Object.keys(bundles) as (keyof typeof bundles)[]) {
    const runs: BundleRun[] = [];
    for (let run = 0; run < COLD_RUNS; run += 1) {
      runs.push(
        await invokeBundle(bundles[name].js, {
          COUNTER_STORE: 'redis',
          REDIS_URL: redis.url,
          POWERTOOLS_LOG_LEVEL: 'INFO',
          POWERTOOLS_METRICS_DISABLED: 'false',
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        }),
      );
    }
    const median = (pick: (run: BundleRun) => number) =>
      runs.map(pick).sort((a, b) => a - b)[Math.floor(COLD_RUNS / 2)];
    cold.push({
      function: name,
      statuses: [...new Set(runs.map((run) => run.first.statusCode))],
      importMs: median((run) => run.processStartToImportedMs),
      firstAnswerAfterImportMs: median((run) => run.firstAnswerMs),
      processStartToFirstAnswerMs: median((run) => run.processStartToFirstAnswerMs),
      zipBytes: statSync(bundles[name].zip).size,
      bundleBytes: statSync(bundles[name].js).size,
    });
  }
  return cold;
}

const rows: Row[] = [];
for (const concurrency of [1, 10, 50]) {
  for (const mode of ['limit', 'handler'] as const) {
    console.error(`bench: ${mode} at concurrency ${concurrency}...`);
    rows.push(await childRow(mode, concurrency));
  }
}
for (const mode of ['in-process', 'worker'] as const) {
  console.error(`bench: http ${mode}...`);
  rows.push(...(await httpRows(mode)));
}
console.error('bench: redis-benchmark and cold starts...');
const scale = redisBenchmark();
const cold = await coldStarts();

const limitAt = (concurrency: number) => rows.find((row) => row.layer === 'limit' && row.concurrency === concurrency);
const format = (us: number, resolution: Row['resolution']) =>
  resolution === 'ms' ? `${(us / 1000).toFixed(0)} ms` : `${us.toFixed(0)} µs`;
const table = rows.map((row) => ({
  layer: row.layer,
  c: row.concurrency,
  'req/s': Math.round(row.rps),
  p50: format(row.p50us, row.resolution),
  p99: format(row.p99us, row.resolution),
  'vs limit': `${(row.rps / (limitAt(row.concurrency)?.rps ?? Number.NaN)).toFixed(2)}x`,
  'errors / non-200': `${row.errors} / ${row.unexpected}`,
  'peak RSS': row.maxRssMb ? `${row.maxRssMb.toFixed(0)} MB` : '',
}));
console.log(
  `\n${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · node ${process.version}`,
);
console.table(table);
console.log('Redis calls per row, warm-up included (INFO commandstats; PTTL and INCR run inside the script):');
for (const row of rows.filter((r) => r.redisCommands)) {
  console.log(`  ${row.layer} c=${row.concurrency}: ${JSON.stringify(row.redisCommands)}`);
}
console.log(`redis-benchmark -t incr -c 50: ${scale}`);
console.table(cold);
const blind = rows.filter(
  ({ closedWindow }) => closedWindow.requests === 0 || closedWindow.unexpected < closedWindow.requests,
);
console.log(
  blind.length === 0
    ? 'Every row, asked first with the window closed, counted each answer as unexpected.'
    : `NOT CHECKED: with the window closed, some answers passed as right: ${blind.map((row) => `${row.layer} c=${row.concurrency}`).join(', ')}`,
);
if (blind.length > 0) process.exitCode = 1;

const committed = JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8')) as BenchResults;
const results = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  seconds: SECONDS,
  warmupSeconds: WARMUP_S,
  rows,
  redisBenchmark: scale,
  coldStarts: cold,
};
// A slowdown must be seen: each layer against the committed run, as a share of its own run's limit.
for (const line of describeRegressions(regressions(results, committed), committed)) console.log(line);
writeFileSync(join(OUT_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(OUT_DIR, 'results.svg'), benchChart(results));
console.log(`written: ${join(OUT_DIR, 'results.json')}, results.svg`);

await inspector.quit();
await redis.stop();
