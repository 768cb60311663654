// The summary of a long chaos run: how many answers of each kind came each second (numbered 200s,
// Expired!, 503, other), stacked, in buckets of round seconds; above them the faults as a band.
import { faultBand } from './chart-fault-band';
import {
  axisTitles,
  type ChartedRun,
  LANES,
  legend,
  NUMBER_COLOR,
  type Outcome,
  outcome,
  page,
  step,
  timeScale,
  timeTicks,
  valueTicks,
} from './chart-svg';

const PLOT_HEIGHT = 260;
/** At most this many buckets: at least 6 px a bar across the 880 px of the plot. */
const BUCKETS = 150;
/** The kinds of answer, stacked from the bottom up in this order. */
const KINDS = [{ outcome: 'number', label: 'Hello ELECLE n', color: NUMBER_COLOR }, ...LANES] as const;

interface Bucket {
  /** Seconds since the run started. */
  from: number;
  seconds: number;
  counts: Record<Outcome, number>;
}

/**
 * Every answer counted by kind in the bucket of the time it came. A last stretch shorter than
 * half a bucket joins the bucket before it, rather than make a bar from a few answers.
 */
function buckets(timeline: ChartedRun['timeline'], every: number): Bucket[] {
  const { seconds } = timeScale(timeline);
  const count = Math.max(1, Math.round(seconds / every));
  const list = Array.from({ length: count }, (_, i) => ({
    from: i * every,
    seconds: i === count - 1 ? seconds - i * every : every,
    counts: { number: 0, expired: 0, unavailable: 0, other: 0 },
  }));
  for (const op of timeline.operations) {
    const i = Math.min(Math.max(Math.floor((op.end - timeline.start) / 1000 / every), 0), count - 1);
    (list[i] as Bucket).counts[outcome(op)] += 1;
  }
  return list;
}

/** All the answers of a bucket, per second. */
const perSecond = (bucket: Bucket) => Object.values(bucket.counts).reduce((sum, n) => sum + n, 0) / bucket.seconds;

export function summaryChart(result: ChartedRun): string {
  const { start } = result.timeline;
  const { seconds, x } = timeScale(result.timeline);
  const every = step(seconds, BUCKETS);
  const counted = buckets(result.timeline, every);
  const highest = Math.max(5, ...counted.map(perSecond));
  const yStep = step(highest, 5);
  const yTop = Math.ceil(highest / yStep) * yStep;

  const key = legend(KINDS, 58);
  const band = faultBand(result, key.bottom + 12);
  const plotTop = band.bottom + 24; // room for the top gridline's value
  const bottom = plotTop + PLOT_HEIGHT;
  const y = (rate: number) => bottom - (rate / yTop) * PLOT_HEIGHT;

  const bars = counted.map((bucket) => {
    const [x1, x2] = [x(start + bucket.from * 1000), x(start + (bucket.from + bucket.seconds) * 1000)];
    let below = 0;
    const stacked = KINDS.map(({ outcome: kind, color }) => {
      const low = below;
      below += bucket.counts[kind] / bucket.seconds;
      if (below === low) return '';
      return `<rect class="${kind}" x="${x1.toFixed(1)}" y="${y(below).toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y(low) - y(below)).toFixed(1)}" fill="${color}"/>`;
    });
    const counts = KINDS.map(({ outcome: kind, label }) => `${bucket.counts[kind].toLocaleString('en-US')} ${label}`);
    const when = `${bucket.from}-${+(bucket.from + bucket.seconds).toFixed(1)} s`;
    return `<g class="bucket"><title>${when}: ${counts.join(', ')}</title>${stacked.join('')}</g>`;
  });
  const size = {
    height: bottom + 44,
    title: `Answers per second of a chaos run against ${result.store}, by kind, with its faults as a band`,
    heading: `Chaos run against ${result.store}: answers per second by kind, faults by kind`,
  };
  return page(result, size, [
    ...key.svg,
    ...band.svg,
    ...valueTicks(yTop, yStep, y),
    ...bars,
    ...timeTicks(result.timeline, bottom),
    ...axisTitles(
      `answers per second (mean of each ${every} s)`,
      plotTop + PLOT_HEIGHT / 2,
      `seconds since the run started (answers counted in ${every}-second buckets)`,
      bottom,
    ),
  ]);
}
