// The faults of a long chaos run as a band coloured by kind, with a legend in place of a label per
// fault (hundreds of labels would print over each other), and the faults that lose the data
// marked beneath it in the colour the short chart shades them.
import type { FaultSpan } from './chaos';
import { type ChartedRun, DATA_LOSS_COLOR, LEFT, legend, timeScale } from './chart-svg';

const KIND_ROW = 6;
const LOSS_ROW = 8;
/** The first kinds' colours, kinds in order of name; any further kinds get hues round the wheel. */
const KIND_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#edc948', '#76b7b2', '#9c755f', '#ff9da7'];

/** A colour for every kind of fault the run held, so a kind new to the chart needs no change here. */
function colorsByKind(faults: FaultSpan[]): Map<string, string> {
  const kinds = [...new Set(faults.map((fault) => fault.kind))].sort();
  return new Map(kinds.map((kind, i) => [kind, KIND_COLORS[i] ?? `hsl(${(i * 137.5) % 360} 55% 45%)`]));
}

/** The legend of fault kinds from `top`, then the band and its data-loss row under it. */
export function faultBand(result: ChartedRun, top: number): { svg: string[]; bottom: number } {
  const { faults } = result.timeline;
  const { x } = timeScale(result.timeline);
  const colors = colorsByKind(faults);
  const held = (kind: string) => faults.filter((fault) => fault.kind === kind).length;
  const key = legend(
    [
      { label: 'faults by kind:' },
      ...[...colors].map(([kind, color]) => ({ label: `${kind} (${held(kind)})`, color })),
      { label: 'fault that loses the data (early Expired! allowed)', color: DATA_LOSS_COLOR },
    ],
    top,
  );
  // One thin row per kind, in the legend's order: where a kind's faults fall reads by row even
  // where a fault is a pixel wide and its colour hard to tell.
  const kinds = [...colors.keys()];
  const rowTop = (kind: string) => key.bottom + 10 + kinds.indexOf(kind) * (KIND_ROW + 1);
  const lossTop = rowTop(kinds.at(-1) ?? '') + KIND_ROW + 4;
  // At least a pixel wide: a 0.3 s fault in a 10-minute run is half of one.
  const span = (fault: FaultSpan, y: number, height: number, color: string | undefined, name: string) => {
    const [x1, x2] = [x(fault.start), x(fault.end)];
    const seconds = (t: number) => ((t - result.timeline.start) / 1000).toFixed(1);
    return `<rect class="${name}" x="${x1.toFixed(1)}" y="${y}" width="${Math.max(x2 - x1, 1).toFixed(1)}" height="${height}" fill="${color}"><title>${fault.kind} ${seconds(fault.start)}-${seconds(fault.end)} s</title></rect>`;
  };
  const rowLabel = (text: string, middle: number) =>
    `<text x="${LEFT - 6}" y="${middle + 4}" text-anchor="end" font-size="11">${text}</text>`;
  return {
    svg: [
      ...key.svg,
      rowLabel('faults', (key.bottom + 10 + lossTop - 4) / 2),
      ...faults.map((fault) => span(fault, rowTop(fault.kind), KIND_ROW, colors.get(fault.kind), 'fault')),
      rowLabel('data lost', lossTop + LOSS_ROW / 2),
      ...faults
        .filter((fault) => fault.dataLoss)
        .map((fault) => span(fault, lossTop, LOSS_ROW, DATA_LOSS_COLOR, 'data-loss')),
    ],
    bottom: lossTop + LOSS_ROW,
  };
}
