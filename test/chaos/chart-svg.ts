// What both drawings of a chaos run share: the page and its heading, the kinds of answer and their
// colours, the axes, and the time scale.
// Legible in grayscale and to colour-blind readers: the colours are Okabe and Ito's, one meaning
// each, the kinds of answer differ in lightness too, and nothing is told apart by colour alone:
// lanes, fault rows and faults carry their names, fault kinds their shapes, data losses a hatch.
import type { ChaosResult } from './chaos';
import type { Operation } from './history';

/** What a chart draws of a chaos run. */
export type ChartedRun = Pick<ChaosResult, 'store' | 'seconds' | 'seed' | 'anomalies' | 'timeline'>;

export const WIDTH = 960;
/** Room on the left for the value axis and for the names of lanes and fault rows. */
export const LEFT = 150;
export const RIGHT = WIDTH - 16;
/** Faults, whatever their kind: grey, as no answer is. */
export const FAULT_COLOR = '#6e7781';
/** Only a fault that loses the data has this colour, always with the hatch of `HATCH`. */
export const DATA_LOSS_COLOR = '#cc79a7';

const NUMBER = /^Hello ELECLE (\d+)$/;
export const NUMBER_COLOR = '#00406e';
/** The answers that carry no number, each in its colour (lanes in one chart, stacks in the other). */
export const LANES = [
  { outcome: 'expired', label: 'Expired!', color: '#56b4e9' },
  { outcome: 'unavailable', label: '503', color: '#d55e00' },
  { outcome: 'other', label: 'other', color: '#000000' },
] as const;

/** The hatch a data-losing fault is filled with, so it reads without its colour. */
export const HATCH = 'data-loss-hatch';
const HATCH_PATTERN = `<defs><pattern id="${HATCH}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${DATA_LOSS_COLOR}" fill-opacity="0.35"/><line x1="0" y1="0" x2="0" y2="6" stroke="${DATA_LOSS_COLOR}" stroke-width="3"/></pattern></defs>`;

/** Marker shapes, one per kind of fault in name order (cycling past the last), centred on (0, 0). */
export const SHAPES = [
  'M-3.5 -3.5h7v7h-7z', // square
  'M0 -4.5L4 3.5h-8z', // triangle
  'M0 -4.5L4.5 0L0 4.5L-4.5 0z', // diamond
  'M0 4.5L4 -3.5h-8z', // triangle down
  'M-4 -1.25h2.75v-2.75h2.5v2.75h2.75v2.5h-2.75v2.75h-2.5v-2.75h-2.75z', // plus
  'M-4.5 0a4.5 4.5 0 1 0 9 0a4.5 4.5 0 1 0 -9 0z', // circle
  'M-4 -4h8L-4 4h8z', // hourglass
  'M-4.5 -1.5h9v3h-9z', // bar
  'M-1.5 -4.5h3v9h-3z', // upright bar
  'M0 -4.5L4.5 4L-4.5 4zM0 -1L2 2.5h-4z', // open triangle
  'M-4.5 -4.5h9v9h-9zM-2 -2v4h4v-4z', // open square
];
export type Outcome = 'number' | (typeof LANES)[number]['outcome'];

/** The number an answer carried, if it carried one. */
export function numberIn(op: Operation): number | undefined {
  const match = NUMBER.exec(op.body);
  return match ? Number(match[1]) : undefined;
}

export function outcome(op: Operation): Outcome {
  if (op.status === 503) return 'unavailable';
  if (op.status !== 200) return 'other';
  if (op.body === 'Expired!') return 'expired';
  return NUMBER.test(op.body) ? 'number' : 'other';
}

/** A round step that cuts `range` into at most `count` parts: 1, 2 or 5 times a power of ten. */
export function step(range: number, count: number): number {
  const power = 10 ** Math.floor(Math.log10(range / count || 1));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => range / s <= count) ?? 10 * power;
}

/** The run's length in seconds and where a moment of it lands across the plot. */
export function timeScale({ start, end }: ChartedRun['timeline']) {
  const seconds = Math.max((end - start) / 1000, 1);
  return { seconds, x: (t: number) => LEFT + ((t - start) / 1000 / seconds) * (RIGHT - LEFT) };
}

/** Gridlines with their values from 0 to `top`, `y` placing a value. */
export function valueTicks(top: number, every: number, y: (value: number) => number): string[] {
  return Array.from({ length: top / every + 1 }, (_, i) => i * every).map((n) => {
    const ty = y(n).toFixed(1);
    return `<line x1="${LEFT}" y1="${ty}" x2="${RIGHT}" y2="${ty}" stroke="#d0d7de"/><text x="${LEFT - 6}" y="${y(n) + 4}" text-anchor="end">${n}</text>`;
  });
}

/** Round seconds under the plot, whose bottom edge is `bottom`. */
export function timeTicks(timeline: ChartedRun['timeline'], bottom: number): string[] {
  const { seconds, x } = timeScale(timeline);
  const every = step(seconds, 12);
  return Array.from({ length: Math.floor(seconds / every) + 1 }, (_, i) => i * every).map((s) => {
    const tx = x(timeline.start + s * 1000).toFixed(1);
    return `<line x1="${tx}" y1="${bottom}" x2="${tx}" y2="${bottom + 4}" stroke="#57606a"/><text x="${tx}" y="${bottom + 16}" text-anchor="middle">${s}</text>`;
  });
}

/** The axes' names: the value's up the left side, time's under the plot. */
export function axisTitles(value: string, middle: number, time: string, bottom: number): string[] {
  return [
    `<text transform="translate(16 ${middle}) rotate(-90)" text-anchor="middle" font-weight="600">${value}</text>`,
    `<text x="${(LEFT + RIGHT) / 2}" y="${bottom + 34}" text-anchor="middle" font-weight="600">${time}</text>`,
  ];
}

/** The time a run started, as `YYYY-MM-DD HH:MM UTC`. */
export const runDate = (timeline: ChartedRun['timeline']) =>
  `${new Date(timeline.start).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The whole SVG: heading with the date and seed, the command that reruns the run and what it held, then `body`. */
export function page(result: ChartedRun, size: { height: number; title: string; heading: string }, body: string[]) {
  const { height, title } = size;
  const { faults, operations } = result.timeline;
  const heading = `${size.heading} (${runDate(result.timeline)}, seed ${result.seed})`;
  const command = `npm run chaos -- --minutes ${result.seconds / 60} --store ${result.store} --seed ${result.seed}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="#1f2328">`,
    `<title>${title}</title>`,
    // White behind everything: GitHub's dark theme would otherwise show dark text on dark.
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    HATCH_PATTERN,
    `<text x="12" y="22" font-size="15" font-weight="600">${heading}</text>`,
    `<text x="12" y="40" fill="#57606a">${command}: ${operations.length.toLocaleString('en-US')} answers, ${faults.length} faults, ${result.anomalies.length} anomalies</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A swatch and its label; without a colour, just the label. */
export interface LegendEntry {
  label: string;
  /** A colour, or `url(#...)` for a pattern. */
  color?: string;
}

/** Legend entries left to right from `top`, onto a new row when one is full. */
export function legend(entries: readonly LegendEntry[], top: number): { svg: string[]; bottom: number } {
  const charWidth = 7; // about, for 12 px system-ui: enough to keep entries from touching
  let [x, y] = [LEFT, top];
  const svg = entries.map(({ label, color }) => {
    const width = (color ? 20 : 0) + label.length * charWidth + 16;
    if (x + width > RIGHT && x > LEFT) [x, y] = [LEFT, y + 20];
    const swatch = color ? `<rect x="${x}" y="${y}" width="14" height="12" fill="${color}"/>` : '';
    const text = `<text x="${color ? x + 20 : x}" y="${y + 10}">${label}</text>`;
    x += width;
    return swatch + text;
  });
  return { svg, bottom: y + 12 };
}
