import { describe, expect, it } from 'vitest';
import type { FaultSpan } from '../chaos/chaos';
import { chaosChart } from '../chaos/chart';
import type { Operation } from '../chaos/history';
import { syntheticChaosRun } from '../support/synthetic-chaos-run';

// 'partition' is a kind no chart code names: a new kind must get its colour and legend entry.
const KINDS = ['freeze', 'reset', 'half-open', 'flush', 'kill', 'partition'];
const tenMinutes = syntheticChaosRun(600, KINDS);
const { faults, operations } = tenMinutes.timeline;

/** What each answer is, told apart here as a reader would, not by the chart's own code. */
const kindOf = (op: Operation) => {
  if (op.status === 503) return '503';
  if (op.status === 200 && op.body === 'Expired!') return 'Expired!';
  return op.status === 200 && /^Hello ELECLE \d+$/.test(op.body) ? 'Hello ELECLE n' : 'other';
};
const tally = (labels: string[]) =>
  labels.reduce((counts, label) => counts.set(label, (counts.get(label) ?? 0) + 1), new Map<string, number>());
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map(([, text]) => text ?? '');
const attribute = (element: string, name: string) => element.match(new RegExp(` ${name}="([^"]*)"`))?.[1];

/** Each bucket's hover text, `kind -> count`, as its `<title>` says. */
const bucketCounts = (svg: string) =>
  [...svg.matchAll(/<g class="bucket"><title>[^:]*: ([^<]*)<\/title>(.*?)<\/g>/g)].map(([, counts, bars]) => ({
    counts: new Map(
      (counts ?? '').split(', ').map((part) => {
        const [, n, label] = part.match(/^([\d,]+) (.+)$/) ?? [];
        return [label ?? '', Number(n?.replaceAll(',', ''))];
      }),
    ),
    bars: bars ?? '',
  }));

describe('Function: chaosChart, for a long run', () => {
  it('summarises ten minutes of hundreds of faults with no label per fault, so nothing prints over anything', () => {
    // Prepare
    expect(faults.length).toBeGreaterThan(200);
    expect(operations.length).toBeGreaterThanOrEqual(100_000);

    // Act
    const svg = chaosChart(tenMinutes);

    // Assess
    expect(svg).not.toContain('fault-label');
    for (const kind of KINDS) expect(texts(svg).filter((text) => text.startsWith(`${kind} (`))).toHaveLength(1);
    expect(svg.match(/<g class="fault"/g)).toHaveLength(faults.length);
  });

  it('names each kind of fault on its row with its count, and draws its faults there in its own shape', () => {
    const svg = chaosChart(tenMinutes);
    const held = tally(faults.map((fault) => fault.kind));
    const shapes = KINDS.map((kind) => {
      const label = svg.match(new RegExp(`<text[^>]*>${kind} \\((\\d+)\\)</text><path [^>]*d="([^"]*)"`));
      expect(Number(label?.[1])).toBe(held.get(kind));
      const drawn = [
        ...svg.matchAll(new RegExp(`<g class="fault" data-kind="${kind}">.*?<path [^>]*d="([^"]*)"`, 'g')),
      ];
      expect(drawn).toHaveLength(held.get(kind) ?? 0);
      expect(new Set(drawn.map(([, shape]) => shape))).toEqual(new Set([label?.[2]]));
      return label?.[2];
    });
    expect(new Set(shapes).size).toBe(KINDS.length);
  });

  it('tells fault kinds apart by row and shape, not colour: every fault that keeps the data is one grey', () => {
    const svg = chaosChart(tenMinutes);
    const kept = [...svg.matchAll(/<g class="fault" data-kind="[^"]*">.*?<\/g>/g)]
      .map(([group]) => group)
      .filter((group) => !faults.find((fault) => group.includes(`<title>${fault.kind} `) && fault.dataLoss));
    const fills = new Set(kept.flatMap((group) => [...group.matchAll(/ fill="([^"]*)"/g)].map(([, fill]) => fill)));
    expect(fills).toEqual(new Set(['#6e7781']));
  });

  it('counts every answer once: the buckets add up to the answers of each kind', () => {
    const buckets = bucketCounts(chaosChart(tenMinutes));
    expect(buckets.length).toBeGreaterThanOrEqual(60);
    const drawn = new Map<string, number>();
    for (const { counts } of buckets) for (const [label, n] of counts) drawn.set(label, (drawn.get(label) ?? 0) + n);
    expect(drawn).toEqual(tally(operations.map(kindOf)));
  });

  it('stacks each bucket in heights in proportion to its counts', () => {
    const [first] = bucketCounts(chaosChart(tenMinutes));
    const height = (kind: string) =>
      Number(attribute(first?.bars.match(new RegExp(`<rect class="${kind}"[^>]*>`))?.[0] ?? '', 'height'));
    const ratio = (first?.counts.get('503') ?? 0) / (first?.counts.get('Hello ELECLE n') ?? 1);
    expect(height('unavailable') / height('number')).toBeCloseTo(ratio, 1);
  });

  it('marks each fault that lost the data beneath the band, as the short chart shades it', () => {
    const svg = chaosChart(tenMinutes);
    const marks = svg.match(/<rect class="data-loss"[^>]*><title>[^ ]+/g) ?? [];
    expect(marks.map((mark) => mark.split('<title>')[1])).toEqual(
      faults.filter((fault) => fault.dataLoss).map((fault) => fault.kind),
    );
    expect(marks.length).toBeGreaterThan(0);
  });

  it('names the run as the short chart does: the command that reruns it, its answers, faults and anomalies', () => {
    expect(chaosChart(tenMinutes)).toContain(
      `npm run chaos -- --minutes 10 --store redis --seed 1: 100,000 answers, ${faults.length} faults, 0 anomalies`,
    );
  });
});

describe('Function: chaosChart, choosing how to draw a run', () => {
  const fault = (kind: string, atSecond: number): FaultSpan => ({
    kind,
    start: tenMinutes.timeline.start + atSecond * 1000,
    end: tenMinutes.timeline.start + atSecond * 1000 + 300,
    dataLoss: false,
  });
  const labels = (svg: string) => svg.match(/class="fault-label"/g)?.length ?? 0;

  it('draws a one-minute run answer by answer, a label on each fault', () => {
    const oneMinute = syntheticChaosRun(60, KINDS);
    expect(labels(chaosChart(oneMinute))).toBe(oneMinute.timeline.faults.length);
  });

  it('summarises a short run as soon as two fault labels would print over each other', () => {
    const run = syntheticChaosRun(20, KINDS);
    const crowded = { ...run, timeline: { ...run.timeline, faults: [fault('reset', 5), fault('freeze', 5.2)] } };
    const apart = { ...run, timeline: { ...run.timeline, faults: [fault('reset', 5), fault('freeze', 8)] } };
    expect(labels(chaosChart(apart))).toBe(2);
    expect(labels(chaosChart(crowded))).toBe(0);
  });

  it('summarises a run over two minutes even when its few faults are far apart', () => {
    const run = syntheticChaosRun(180, KINDS);
    const calm = { ...run, timeline: { ...run.timeline, faults: [fault('reset', 60)] } };
    expect(labels(chaosChart(calm))).toBe(0);
    expect(chaosChart(calm)).toContain('<g class="bucket">');
  });
});
