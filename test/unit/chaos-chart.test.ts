import { describe, expect, it } from 'vitest';
import type { ChaosResult } from '../chaos/chaos';
import { chaosChart } from '../chaos/chart';
import { DATA_LOSS_COLOR, FAULT_COLOR, LANES, NUMBER_COLOR } from '../chaos/chart-svg';
import type { Operation } from '../chaos/history';
import { syntheticChaosRun } from '../support/synthetic-chaos-run';

const START = 1_800_000_000_000;
const answer = (atMs: number, status: number, body: string): Operation => ({
  path: '/hello/again',
  start: START + atMs - 5,
  end: START + atMs,
  status,
  body,
});

/** Twelve seconds: a window counted to 3, a kill (data lost), a latency fault, then Expired!. */
const run: Pick<ChaosResult, 'store' | 'seconds' | 'seed' | 'anomalies' | 'timeline'> = {
  store: 'redis',
  seconds: 12,
  seed: 42,
  anomalies: [],
  timeline: {
    start: START,
    end: START + 12_000,
    faults: [
      { kind: 'kill', start: START + 2_000, end: START + 3_000, dataLoss: true },
      { kind: 'latency', start: START + 5_000, end: START + 6_500, dataLoss: false },
    ],
    operations: [
      { ...answer(100, 200, 'Hello ELECLE 1'), path: '/hello' },
      answer(1_000, 200, 'Hello ELECLE 2'),
      answer(1_500, 200, 'Hello ELECLE 3'),
      answer(2_500, 503, 'Service Unavailable'),
      answer(5_500, 503, 'Service Unavailable'),
      answer(8_000, 200, 'Expired!'),
      answer(9_000, 0, 'TypeError: fetch failed'),
    ],
  },
};

/** The points of the path with this class, one per mark (`M x y`). */
const marksOf = (svg: string, name: string) => {
  const path = svg.match(new RegExp(`class="${name}" d="([^"]*)"`))?.[1] ?? '';
  return [...path.matchAll(/M(\d+) (\d+)/g)].map(([, x, y]) => ({ x: Number(x), y: Number(y) }));
};
const attribute = (element: string | undefined, name: string) => element?.match(new RegExp(` ${name}="([^"]*)"`))?.[1];

describe('Function: chaosChart', () => {
  it('shades each fault from its start to its end, labelled with its kind, data losses hatched', () => {
    // Act
    const svg = chaosChart(run);

    // Assess
    const [kill, latency, ...more] = svg.match(/<rect class="fault"[^>]*>/g) ?? [];
    expect(more).toEqual([]);
    expect([...svg.matchAll(/<text class="fault-label"[^>]*>([^<]*)</g)].map(([, label]) => label)).toEqual([
      'kill',
      'latency',
    ]);
    expect(Number(attribute(kill, 'x'))).toBeLessThan(Number(attribute(latency, 'x')));
    // Held 1 s and 1.5 s.
    expect(Number(attribute(latency, 'width')) / Number(attribute(kill, 'width'))).toBeCloseTo(1.5, 1);
    expect(attribute(kill, 'fill')).toBe('url(#data-loss-hatch)');
    expect(attribute(latency, 'fill')).toBe(FAULT_COLOR);
  });

  it('draws one mark per answer: numbers as dots, Expired!, 503 and other answers in their lanes', () => {
    const svg = chaosChart(run);
    expect(marksOf(svg, 'numbers')).toHaveLength(3);
    expect(marksOf(svg, 'unavailable')).toHaveLength(2);
    expect(marksOf(svg, 'expired')).toHaveLength(1);
    expect(marksOf(svg, 'other')).toHaveLength(1);
  });

  it('places a number by the time it came (further right) and the number it carried (further up)', () => {
    const [one, two, three] = marksOf(chaosChart(run), 'numbers');
    expect(one?.x).toBeLessThan(two?.x as number);
    expect(two?.x).toBeLessThan(three?.x as number);
    expect(one?.y).toBeGreaterThan(two?.y as number);
    expect(two?.y).toBeGreaterThan(three?.y as number);
  });

  it('draws a half-minute run answer by answer, byte for byte as before long runs were summarised', async () => {
    const halfMinute = syntheticChaosRun(30, ['freeze', 'hang-new', 'flush', 'reset', 'half-open']);
    await expect(chaosChart(halfMinute)).toMatchFileSnapshot('./__snapshots__/chaos-chart-half-minute.svg');
  });

  it('names the command that reruns it, and how many answers and faults it drew', () => {
    expect(chaosChart(run)).toContain(
      'npm run chaos -- --minutes 0.2 --store redis --seed 42: 7 answers, 2 faults, 0 anomalies',
    );
  });

  it('names the date and time the run started and its seed in the heading', () => {
    // START is 2027-01-15 08:00 UTC.
    expect(chaosChart(run)).toMatch(/<text [^>]*font-weight="600">[^<]*\(2027-01-15 08:00 UTC, seed 42\)<\/text>/);
  });

  it('gives each colour one meaning: the answers, faults and data losses share none', () => {
    const answers = [NUMBER_COLOR, ...LANES.map((lane) => lane.color)];
    const all = [...answers, FAULT_COLOR, DATA_LOSS_COLOR];
    expect(new Set(all.map((color) => color.toLowerCase())).size).toBe(all.length);
  });

  it('keeps the kinds of answer apart in grayscale: their lightness differs by an eighth of the scale or more', () => {
    // Rec. 601 luma, as a grayscale print or filter turns a colour into grey.
    const luma = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
      return 0.299 * (r ?? 0) + 0.587 * (g ?? 0) + 0.114 * (b ?? 0);
    };
    const greys = [NUMBER_COLOR, ...LANES.map((lane) => lane.color)].map(luma).sort((a, b) => a - b);
    const gaps = greys.slice(1).map((grey, i) => grey - (greys[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(255 / 8);
  });
});
