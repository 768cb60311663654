// npx tsx bench/outcome-cost.mts [--base REF] [--rounds N] [--seconds S]
// What recording each write's outcome costs (issue 16), against one redis-server it starts:
//   script   redis-server's own CPU per increment (100,000 pipelined), REF's script against this tree's
//   memory   what one connection's ring of outcomes takes: Redis's used_memory before and after
//            100,000 increments on one connection (the adapter's own script and key names)
//   handler  the packaged /hello/again handler in a plain node child (bench/load-child.mjs, as
//            `npm run bench` runs it, concurrency 10), this tree's bundle against REF's (default
//            16f7ca3, the commit before outcomes were recorded), in alternating rounds, same Redis
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defineCounterCommands } from '../lib/counter/redis.js';
import { TestRedisServer } from '../test/support/redis-server.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: '16f7ca3' },
    rounds: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '5' },
  },
});
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'hello:count';
const RECORDS = 100_000;

const redis = await TestRedisServer.start();
process.on('exit', () => redis.stopSync());
const client = redis.client();
defineCounterCommands(client);

const baseTree = mkdtempSync(join(tmpdir(), 'elecle-outcome-base-'));
execFileSync('git', ['worktree', 'add', '--detach', baseTree, values.base], { cwd: ROOT, stdio: 'ignore' });
process.on('exit', () => execFileSync('git', ['worktree', 'remove', '--force', baseTree], { cwd: ROOT }));
symlinkSync(join(ROOT, 'node_modules'), join(baseTree, 'node_modules'));

/** CPU time a process has used, in ms (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
const redisPid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);

// script: redis-server's own CPU for 100,000 pipelined increments, REF's script against this tree's
const baseClient = redis.client();
// Where REF defines its scripts (lib/counter/redis.ts, or redis-scripts.ts before lib/ was
// reorganised), and whether its writes record outcomes in a ring (the same arguments as this tree's).
const baseScripts = ['lib/counter/redis.ts', 'lib/counter/redis-scripts.ts']
  .map((path) => join(baseTree, path))
  .filter(
    (path) => existsSync(path) && readFileSync(path, 'utf8').includes('export function defineCounterCommands'),
  )[0];
if (!baseScripts) throw new Error(`${values.base} defines no defineCounterCommands in lib/counter/`);
const baseRedis = (await import(baseScripts)) as { defineCounterCommands(c: typeof client): void };
const baseRecordsOutcomes = readFileSync(baseScripts, 'utf8').includes('ringKey');
baseRedis.defineCounterCommands(baseClient);
let seq = 0;
let baseSeq = 0;
const increments: Record<string, () => unknown> = {
  [values.base]: () => {
    const batch = baseClient.pipeline() as unknown as {
      incrementWhileOpen(...args: (string | number)[]): void;
      exec(): Promise<unknown>;
    };
    for (let i = 0; i < 1_000; i += 1) {
      baseSeq += 1;
      if (baseRecordsOutcomes) {
        batch.incrementWhileOpen(KEY, `{${KEY}}:outcomes:base`, Date.now() + 5_000, baseSeq, baseSeq === 1 ? '1' : '0');
      } else {
        batch.incrementWhileOpen(KEY, Date.now() + 5_000);
      }
    }
    return batch.exec();
  },
  'this tree': () => {
    const batch = client.pipeline();
    for (let i = 0; i < 1_000; i += 1) {
      // As the adapter sends it: the connection's ring, the write's seq, the ring's expiry renewed first.
      seq += 1;
      batch.incrementWhileOpen(KEY, `{${KEY}}:outcomes:bench`, Date.now() + 5_000, seq, seq === 1 ? '1' : '0');
    }
    return batch.exec();
  },
};
for (let round = 0; round < 3; round += 1) {
  for (const [name, send] of Object.entries(increments)) {
    await client.set(KEY, 1, 'PX', 3_600_000);
    const before = cpuMs(redisPid);
    for (let sent = 0; sent < RECORDS; sent += 1_000) await send();
    console.log(
      `script: round ${round + 1}, ${name}: redis-server CPU ${((cpuMs(redisPid) - before) * 1000) / RECORDS} µs per increment`,
    );
  }
}
baseClient.disconnect();
await client.flushall();

// memory: one connection's ring, written past its size
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
const before = await usedMemory();
const keep = Date.now() + 3_600_000;
const ring = `{${KEY}}:outcomes:memory`;
await client.openWindow(KEY, ring, keep, 1, '1', 3_600_000);
for (let sent = 0; sent < RECORDS; sent += 1_000) {
  const batch = client.pipeline();
  for (let i = 0; i < 1_000; i += 1) batch.incrementWhileOpen(KEY, ring, keep, sent + i + 2, '0');
  await batch.exec();
}
const after = await usedMemory();
console.log(
  `memory: ${RECORDS} writes on one connection, used_memory +${after - before} bytes (the ring and the counter)`,
);
console.log(
  `memory: MEMORY USAGE ${ring} = ${await client.memory('USAGE', ring)} bytes; PTTL ${await client.pttl(ring)} ms`,
);
await client.flushall();

// handler
function packageHelloAgain(directory: string): string {
  const out = mkdtempSync(join(tmpdir(), 'elecle-outcome-cost-'));
  execFileSync(
    process.execPath,
    [join(directory, 'node_modules/serverless/bin/serverless.js'), 'package', '--stage', 'prod', '--package', out],
    {
      cwd: directory,
      stdio: 'ignore',
      env: { ...process.env, ESBUILD_WORK_FOLDER: `.esbuild-outcome-cost-${process.pid}` },
    },
  );
  rmSync(join(directory, `.esbuild-outcome-cost-${process.pid}`), { recursive: true, force: true });
  execFileSync('unzip', ['-q', join(out, 'helloAgain.zip'), '-d', join(out, 'bundle')]);
  // An ES module bundle; a commit from before they were is CommonJS.
  const bundle = join(out, 'bundle/functions/hello-again');
  return existsSync(`${bundle}.mjs`) ? `${bundle}.mjs` : `${bundle}.js`;
}

console.error(`packaging ${values.base} and this tree (prod stage)...`);
const bundles = { [values.base]: packageHelloAgain(baseTree), 'this tree': packageHelloAgain(ROOT) };

interface Run {
  rps: number;
  /** CPU per request of the handler's process and of Redis together, warm-up included, in µs. */
  cpuUs: number;
}

function handlerRun(bundle: string): Promise<Run> {
  const redisBefore = cpuMs(redisPid);
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/load-child.mjs'), {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        MODE: 'handler',
        REDIS_URL: redis.url,
        BUNDLE: bundle,
        CONCURRENCY: '10',
        SECONDS: values.seconds,
        WARMUP_S: '1',
        COUNTER_STORE: 'redis',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_METRICS_DISABLED: 'false',
        POWERTOOLS_SERVICE_NAME: 'elecle-hello-bench',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      },
    });
    child.once('message', (result) => {
      const { rps, errors, unexpected } = result as { rps: number; errors: number; unexpected: number };
      const cpu = cpuMs(child.pid as number) + cpuMs(redisPid) - redisBefore;
      const requests = rps * (Number(values.seconds) + 1); // the warm-up second ran at about the same rate
      if (errors + unexpected > 0) reject(new Error(`${errors} errors, ${unexpected} unexpected answers`));
      else resolve({ rps, cpuUs: (cpu * 1000) / requests });
    });
    child.once('exit', (code) => reject(new Error(`load child exited with ${code} before reporting`)));
  });
}

const names = Object.keys(bundles);
const results: Record<string, Run[]> = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < Number(values.rounds); round += 1) {
  // Alternate which goes first, so a trend in the machine's load favours neither.
  for (const name of round % 2 === 0 ? names : [...names].reverse()) {
    await client.set(KEY, 1, 'PX', 3_600_000);
    const run = await handlerRun(bundles[name] as string);
    results[name]?.push(run);
    console.log(
      `handler: round ${round + 1}, ${name}: ${Math.round(run.rps)} requests/s, ${run.cpuUs.toFixed(1)} µs CPU per request`,
    );
  }
}
// Each round's two runs are seconds apart: their ratio is less exposed to other load than the medians.
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const [baseRuns = [], currentRuns = []] = names.map((name) => results[name] ?? []);
const percent = (ratio: number) => `${((ratio - 1) * 100).toFixed(1)}%`;
const change = (of: (run: Run) => number) =>
  median(currentRuns.map((run, round) => of(run) / of(baseRuns[round] ?? { rps: Number.NaN, cpuUs: Number.NaN })));
console.log(
  `handler: medians ${values.base} ${Math.round(median(baseRuns.map((run) => run.rps)))}, this tree ${Math.round(median(currentRuns.map((run) => run.rps)))} requests/s; ` +
    `per-round change: throughput ${percent(change((run) => run.rps))}, CPU per request ${percent(change((run) => run.cpuUs))} ` +
    `(${median(baseRuns.map((run) => run.cpuUs)).toFixed(1)} -> ${median(currentRuns.map((run) => run.cpuUs)).toFixed(1)} µs)`,
);
client.disconnect();
process.exit(0);
