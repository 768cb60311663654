// The chart of a bench run: p50 and p99 per layer and concurrency on a log scale, as SVG.
// `npm run bench` writes it next to results.json; `npm run bench:chart` redraws it from a
// results.json already written (to change the picture without measuring again).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  layer: string;
  concurrency: number;
  rps: number;
  p50us: number;
  p99us: number;
  /** autocannon reports whole milliseconds. */
  resolution: 'µs' | 'ms';
}

export interface BenchResults {
  date: string;
  machine: { cpus: number; model?: string | undefined; node: string };
  rows: BenchRow[];
}

const WIDTH = 760;
const ROW_HEIGHT = 26;
const TOP = 78; // title, subtitle, legend
const PLOT_LEFT = 190;
const PLOT_RIGHT = WIDTH - 100; // req/s column to its right
const P50 = '#1f6feb';
const P99 = '#d1491d';

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function formatMicros(us: number): string {
  const [value, unit] = us >= 1_000_000 ? [us / 1_000_000, 's'] : us >= 1_000 ? [us / 1_000, 'ms'] : [us, 'µs'];
  return `${Number(value.toPrecision(3))} ${unit}`;
}

/** The SVG chart of `results`: one line per row from its p50 dot to its p99 dot, rows grouped by layer. */
export function benchChart(results: BenchResults): string {
  const layers = [...new Set(results.rows.map((row) => row.layer))];
  const rows = results.rows.toSorted(
    (a, b) => layers.indexOf(a.layer) - layers.indexOf(b.layer) || a.concurrency - b.concurrency,
  );
  const answered = rows.filter((row) => row.p50us > 0);
  // Whole decades that hold every value, so the grid lines fall on 10 µs, 100 µs, 1 ms, ...
  // (at least 1 to 10 ms: a run in which no row was answered still gets its axis).
  const low = Math.floor(Math.log10(Math.min(...answered.map((row) => row.p50us), 1_000)));
  const high = Math.ceil(Math.log10(Math.max(...answered.map((row) => row.p99us), 10_000)));
  const x = (us: number) => PLOT_LEFT + ((Math.log10(us) - low) / (high - low || 1)) * (PLOT_RIGHT - PLOT_LEFT);
  const plotBottom = TOP + rows.length * ROW_HEIGHT;
  const height = plotBottom + 62;

  const grid = Array.from({ length: high - low + 1 }, (_, i) => {
    const gx = x(10 ** (low + i)).toFixed(1);
    return [
      `<line x1="${gx}" y1="${TOP - 6}" x2="${gx}" y2="${plotBottom}" stroke="#d0d7de"/>`,
      `<text x="${gx}" y="${plotBottom + 16}" text-anchor="middle">${formatMicros(10 ** (low + i))}</text>`,
    ].join('');
  });
  const marks = rows.map((row, i) => {
    const y = TOP + i * ROW_HEIGHT + ROW_HEIGHT / 2;
    const [x50, x99] = [x(row.p50us).toFixed(1), x(row.p99us).toFixed(1)];
    const label = `${row.layer}, c=${row.concurrency}${row.resolution === 'ms' ? ' *' : ''}`;
    const dots = [
      `<line x1="${x50}" y1="${y}" x2="${x99}" y2="${y}" stroke="#8c959f" stroke-width="2"/>`,
      `<circle class="p50" cx="${x50}" cy="${y}" r="5" fill="${P50}"/>`,
      `<circle class="p99" cx="${x99}" cy="${y}" r="5" fill="${P99}"/>`,
    ];
    return [
      `<g class="row"><title>${xml(label)}: p50 ${formatMicros(row.p50us)}, p99 ${formatMicros(row.p99us)}</title>`,
      `<text x="${PLOT_LEFT - 10}" y="${y + 4}" text-anchor="end">${xml(label)}</text>`,
      ...(row.p50us > 0 ? dots : [`<text x="${PLOT_LEFT + 6}" y="${y + 4}" fill="${P99}">no answers</text>`]),
      `<text x="${WIDTH - 12}" y="${y + 4}" text-anchor="end">${Math.round(row.rps).toLocaleString('en-US')}</text></g>`,
    ].join('');
  });
  const { cpus, model, node } = results.machine;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="#1f2328">`,
    '<title>GET /hello/again: p50 and p99 latency per layer and concurrency (npm run bench)</title>',
    // White behind everything: GitHub's dark theme would otherwise show dark text on dark.
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">GET /hello/again: latency per request, by layer and concurrency</text>`,
    `<text x="12" y="40" fill="#57606a">npm run bench, ${xml(results.date.slice(0, 10))}, ${cpus} × ${xml(model ?? 'cpu')}, Node ${xml(node)}</text>`,
    `<circle cx="${PLOT_LEFT + 6}" cy="58" r="5" fill="${P50}"/><text x="${PLOT_LEFT + 16}" y="62">p50</text>`,
    `<circle cx="${PLOT_LEFT + 66}" cy="58" r="5" fill="${P99}"/><text x="${PLOT_LEFT + 76}" y="62">p99</text>`,
    `<text x="${PLOT_LEFT - 10}" y="62" text-anchor="end" font-weight="600">layer, concurrency</text>`,
    `<text x="${WIDTH - 12}" y="62" text-anchor="end" font-weight="600">req/s</text>`,
    ...grid,
    ...marks,
    `<text x="${(PLOT_LEFT + PLOT_RIGHT) / 2}" y="${plotBottom + 36}" text-anchor="middle" font-weight="600">latency (log scale)</text>`,
    `<text x="12" y="${plotBottom + 54}" fill="#57606a">* autocannon: whole milliseconds only</text>`,
    '</svg>',
    '',
  ].join('\n');
}

// npm run bench:chart [dir]: redraws <dir>/results.svg from <dir>/results.json (bench/ by default).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url));
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults;
  writeFileSync(join(dir, 'results.svg'), benchChart(results));
  console.log(`written: ${join(dir, 'results.svg')}`);
}
