// A smoke test of `npm run bench`: a second per row, no warm-up, one cold start per function,
// written to a folder of its own.
// It checks that every row ran and was answered right, never how fast: speed depends on the machine.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagedStage } from '../support/packaged-once';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ROWS = [
  ...['limit', 'handler'].flatMap((layer) => [1, 10, 50].map((c) => `${layer} c=${c}`)),
  ...['http in-process', 'http worker'].flatMap((layer) => [10, 50].map((c) => `${layer} c=${c}`)),
];

interface Results {
  rows: {
    layer: string;
    concurrency: number;
    requests: number;
    errors: number;
    unexpected: number;
    closedWindow: { requests: number; unexpected: number };
  }[];
  coldStarts: {
    function: string;
    statuses: number[];
    importMs: number;
    firstAnswerAfterImportMs: number;
    processStartToFirstAnswerMs: number;
  }[];
}

const outDir = mkdtempSync(join(tmpdir(), 'elecle-bench-'));
let bench: { code: number; output: string; ms: number };
let results: Results;
const row = (name: string) => results.rows.find((r) => `${r.layer} c=${r.concurrency}` === name);

beforeAll(async () => {
  // The prod stage this run packaged once (test/support/packaged-once.ts), not a package of its own.
  const { directory } = await packagedStage('prod');
  const startedAt = performance.now();
  const env = {
    ...process.env,
    BENCH_SECONDS: '1',
    BENCH_WARMUP_S: '0',
    BENCH_COLD_RUNS: '1',
    BENCH_OUT_DIR: outDir,
    BENCH_PACKAGE_DIR: directory,
  };
  bench = await run(process.execPath, ['node_modules/.bin/tsx', 'bench/run.mts'], { cwd: ROOT, env }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr, ms: performance.now() - startedAt }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      output: error.stdout + error.stderr,
      ms: performance.now() - startedAt,
    }),
  );
  // Without results there is nothing to check: show why.
  try {
    results = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as Results;
  } catch {
    throw new Error(`npm run bench wrote no results.json (exit ${bench.code}):\n${bench.output}`);
  }
}, 150_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

describe('Bench: npm run bench, a second per row', () => {
  it('exits 0', () => {
    expect(bench.code, bench.output).toBe(0);
  });

  it('runs every layer at every concurrency', () => {
    expect(results.rows.map((r) => `${r.layer} c=${r.concurrency}`).sort()).toEqual([...ROWS].sort());
  });

  it.each(ROWS)('%s: every answer right, no errors', (name) => {
    expect(row(name)).toMatchObject({ errors: 0, unexpected: 0 });
    expect(row(name)?.requests).toBeGreaterThan(0);
  });

  // A row's "0 unexpected" means something only if its layer sees a wrong answer: asked with the
  // window closed, it must count every one ("Expired!", or the script's null) as unexpected.
  it.each(ROWS)('%s: counts each answer to a closed window as unexpected', (name) => {
    const closed = row(name)?.closedWindow;
    expect(closed?.requests).toBeGreaterThan(0);
    expect(closed?.unexpected).toBe(closed?.requests);
  });

  it('times cold starts from the process start: each first answer 200, every time above 0 and within the run', () => {
    expect(results.coldStarts.map((cold) => cold.function).sort()).toEqual(['health', 'hello', 'helloAgain']);
    for (const cold of results.coldStarts) {
      expect(cold.statuses).toEqual([200]);
      // Per process, start-to-answer is import plus first answer, so each median stays below its own.
      expect(cold.importMs).toBeGreaterThan(0);
      expect(cold.firstAnswerAfterImportMs).toBeGreaterThan(0);
      expect(cold.processStartToFirstAnswerMs).toBeGreaterThan(cold.importMs);
      expect(cold.processStartToFirstAnswerMs).toBeGreaterThan(cold.firstAnswerAfterImportMs);
      expect(cold.processStartToFirstAnswerMs).toBeLessThan(bench.ms);
    }
  });

  it('draws the chart next to the results: a p50 and a p99 mark per row', () => {
    const svg = readFileSync(join(outDir, 'results.svg'), 'utf8');
    expect(svg.match(/<circle class="p50"/g)).toHaveLength(ROWS.length);
    expect(svg.match(/<circle class="p99"/g)).toHaveLength(ROWS.length);
  });
});
