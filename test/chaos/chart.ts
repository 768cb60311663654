// The chart of a chaos run (`npm run chaos -- --chart file.svg`): every answer over time, the
// number it carried or the lane of its outcome, with the faults shaded and labelled by kind.
import type { ChaosResult } from './chaos';
import type { Operation } from './history';

const WIDTH = 960;
const LEFT = 64;
const RIGHT = WIDTH - 16;
const PLOT_TOP = 104; // title, subtitle, legend, then the fault labels inside the shading
const PLOT_HEIGHT = 260;
const LANE_HEIGHT = 16;

const NUMBER = /^Hello ELECLE (\d+)$/;
/** The lanes under the numbers, for answers that carry none. */
const LANES = [
  { outcome: 'expired', label: 'Expired!', color: '#8250df' },
  { outcome: 'unavailable', label: '503', color: '#cf222e' },
  { outcome: 'other', label: 'other', color: '#1f2328' },
] as const;
type Outcome = 'number' | (typeof LANES)[number]['outcome'];
const NUMBER_COLOR = '#1f6feb';
const FAULT_COLOR = '#bf8700';
const DATA_LOSS_COLOR = '#cf222e';

function outcome(op: Operation): Outcome {
  if (op.status === 503) return 'unavailable';
  if (op.status !== 200) return 'other';
  if (op.body === 'Expired!') return 'expired';
  return NUMBER.test(op.body) ? 'number' : 'other';
}

/** A round step that cuts `range` into at most `count` parts: 1, 2 or 5 times a power of ten. */
function step(range: number, count: number): number {
  const power = 10 ** Math.floor(Math.log10(range / count || 1));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => range / s <= count) ?? 10 * power;
}

/**
 * One mark per answer, except that answers landing on the same pixel share one: a run of
 * minutes has hundreds of thousands. Numbers are dots, the other outcomes ticks in their lane.
 */
function marks(points: [number, number][], draw: string): string {
  const unique = new Set(points.map(([x, y]) => `M${Math.round(x)} ${Math.round(y)}${draw}`));
  return [...unique].join('');
}

/** What a chart draws of a chaos run. */
export type ChartedRun = Pick<ChaosResult, 'store' | 'seconds' | 'seed' | 'anomalies' | 'timeline'>;

/** The SVG chart of a chaos run's timeline. */
export function chaosChart(result: ChartedRun): string {
  const { start, end, faults, operations } = result.timeline;
  const seconds = Math.max((end - start) / 1000, 1);
  const highest = operations.reduce((max, op) => Math.max(max, Number(NUMBER.exec(op.body)?.[1] ?? 0)), 1);
  const yStep = step(highest, 5);
  const yTop = Math.ceil(highest / yStep) * yStep;
  const x = (t: number) => LEFT + ((t - start) / 1000 / seconds) * (RIGHT - LEFT);
  const y = (n: number) => PLOT_TOP + PLOT_HEIGHT - (n / yTop) * PLOT_HEIGHT;
  const laneTop = (i: number) => PLOT_TOP + PLOT_HEIGHT + 8 + i * LANE_HEIGHT;
  const bottom = laneTop(LANES.length);
  const height = bottom + 44;

  const shading = faults.map((fault) => {
    const [x1, x2] = [x(fault.start), x(fault.end)];
    const color = fault.dataLoss ? DATA_LOSS_COLOR : FAULT_COLOR;
    return [
      `<rect class="fault" x="${x1.toFixed(1)}" y="${PLOT_TOP}" width="${(x2 - x1).toFixed(1)}" height="${bottom - PLOT_TOP}" fill="${color}" fill-opacity="0.14"/>`,
      `<text class="fault-label" transform="translate(${(x1 + 3).toFixed(1)} ${PLOT_TOP + 4}) rotate(90)" fill="${color}">${fault.kind}</text>`,
    ].join('');
  });
  const yTicks = Array.from({ length: yTop / yStep + 1 }, (_, i) => i * yStep).map((n) => {
    const ty = y(n).toFixed(1);
    return `<line x1="${LEFT}" y1="${ty}" x2="${RIGHT}" y2="${ty}" stroke="#d0d7de"/><text x="${LEFT - 6}" y="${y(n) + 4}" text-anchor="end">${n}</text>`;
  });
  const xStep = step(seconds, 12);
  const xTicks = Array.from({ length: Math.floor(seconds / xStep) + 1 }, (_, i) => i * xStep).map((s) => {
    const tx = x(start + s * 1000).toFixed(1);
    return `<line x1="${tx}" y1="${bottom}" x2="${tx}" y2="${bottom + 4}" stroke="#57606a"/><text x="${tx}" y="${bottom + 16}" text-anchor="middle">${s}</text>`;
  });
  const byOutcome = (wanted: Outcome) => operations.filter((op) => outcome(op) === wanted);
  const numbers = marks(
    byOutcome('number').map((op) => [x(op.end), y(Number(NUMBER.exec(op.body)?.[1]))]),
    'h0',
  );
  const lanes = LANES.map(({ outcome: lane, label, color }, i) => {
    const ticks = marks(
      byOutcome(lane).map((op) => [x(op.end), laneTop(i) + 2]),
      `v${LANE_HEIGHT - 4}`,
    );
    return [
      `<text x="${LEFT - 6}" y="${laneTop(i) + 12}" text-anchor="end" fill="${color}">${label}</text>`,
      `<path class="${lane}" d="${ticks}" stroke="${color}" stroke-width="1"/>`,
    ].join('');
  });
  const legend = [
    `<circle cx="${LEFT + 4}" cy="64" r="3" fill="${NUMBER_COLOR}"/><text x="${LEFT + 12}" y="68">Hello ELECLE n, at n</text>`,
    `<rect x="${LEFT + 150}" y="58" width="14" height="12" fill="${FAULT_COLOR}" fill-opacity="0.25"/><text x="${LEFT + 170}" y="68">fault, labelled by kind</text>`,
    `<rect x="${LEFT + 330}" y="58" width="14" height="12" fill="${DATA_LOSS_COLOR}" fill-opacity="0.25"/><text x="${LEFT + 350}" y="68">fault that loses the data (early Expired! allowed)</text>`,
  ];
  const command = `npm run chaos -- --minutes ${result.seconds / 60} --store ${result.store} --seed ${result.seed}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="#1f2328">`,
    `<title>Answers of a chaos run against ${result.store} over time, with its faults shaded</title>`,
    // White behind everything: GitHub's dark theme would otherwise show dark text on dark.
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">Chaos run against ${result.store}: every answer over time, faults shaded</text>`,
    `<text x="12" y="40" fill="#57606a">${command}: ${operations.length.toLocaleString('en-US')} answers, ${faults.length} faults, ${result.anomalies.length} anomalies</text>`,
    ...legend,
    ...shading,
    ...yTicks,
    `<path class="numbers" d="${numbers}" stroke="${NUMBER_COLOR}" stroke-width="3" stroke-linecap="round"/>`,
    ...lanes,
    ...xTicks,
    `<text transform="translate(16 ${PLOT_TOP + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle" font-weight="600">number in the answer</text>`,
    `<text x="${(LEFT + RIGHT) / 2}" y="${bottom + 34}" text-anchor="middle" font-weight="600">seconds since the run started (each answer at the time it came)</text>`,
    '</svg>',
    '',
  ].join('\n');
}
