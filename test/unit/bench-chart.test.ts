import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type BenchResults, benchChart } from '../../bench/chart.mjs';

const BENCH = fileURLToPath(new URL('../../bench/', import.meta.url));
const committed = JSON.parse(readFileSync(`${BENCH}results.json`, 'utf8')) as BenchResults;

describe('Function: benchChart', () => {
  it('draws a p50 and a p99 mark for each row, labelled with its layer and concurrency', () => {
    const svg = benchChart(committed);
    expect(svg.match(/<circle class="p50"/g)).toHaveLength(committed.rows.length);
    expect(svg.match(/<circle class="p99"/g)).toHaveLength(committed.rows.length);
    for (const row of committed.rows) expect(svg).toContain(`>${row.layer}, c=${row.concurrency}`);
  });

  it('is what docs/performance.md shows: bench/results.svg is the chart of bench/results.json (npm run bench:chart)', () => {
    expect(readFileSync(`${BENCH}results.svg`, 'utf8')).toBe(benchChart(committed));
  });
});
