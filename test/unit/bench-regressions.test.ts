import { describe, expect, it } from 'vitest';
import type { BenchResults, BenchRow } from '../../bench/chart.mjs';
import { describeRegressions, regressions } from '../../bench/regressions.mjs';

const row = (layer: string, concurrency: number, rps: number): BenchRow => ({
  layer,
  concurrency,
  rps,
  p50us: 1,
  p99us: 1,
  resolution: 'µs',
});
const run = (date: string, rows: BenchRow[]): BenchResults => ({ date, machine: { cpus: 2, node: 'v24.21.0' }, rows });

describe('Function: regressions', () => {
  const before = run('2026-11-23T10:00:00Z', [row('limit', 10, 20_000), row('http in-process', 10, 4_000)]);

  it("flags a layer more than 10% worse as a share of its own run's limit row", () => {
    // 3,500 of 20,000 is 17.5% of the limit, was 20%: 12.5% worse.
    const now = run('2026-12-05T10:00:00Z', [row('limit', 10, 20_000), row('http in-process', 10, 3_500)]);

    const found = regressions(now, before);

    expect(found).toEqual([{ layer: 'http in-process', concurrency: 10, now: 0.175, before: 0.2 }]);
    expect(describeRegressions(found, before)).toEqual([
      "WARNING: http in-process c=10 is 13% worse than in the committed bench/results.json (2026-11-23, node v24.21.0): 17.5% of the limit row's req/s, was 20.0%",
    ]);
  });

  it('does not flag a slower machine: every layer slower alike is no regression', () => {
    const now = run('2026-12-05T10:00:00Z', [row('limit', 10, 10_000), row('http in-process', 10, 1_900)]);

    expect(regressions(now, before)).toEqual([]);
    expect(describeRegressions([], before)[0]).toMatch(/^No layer is more than 10% worse/);
  });

  it('ignores rows the earlier run does not have', () => {
    const now = run('2026-12-05T10:00:00Z', [row('limit', 50, 20_000), row('http worker', 50, 100)]);

    expect(regressions(now, before)).toEqual([]);
  });
});
