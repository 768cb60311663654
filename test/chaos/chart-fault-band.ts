// The faults of a long chaos run as a band: one row per kind, named on the left with how many it
// held, each fault a grey span with its kind's marker shape at its start (hundreds of labels would
// print over each other; a 0.3 s fault in ten minutes is half a pixel). Kinds are told apart by
// row, name and shape, not by colour; the faults that lose the data are marked again beneath the
// band, hatched, as the short chart shades them.
import type { FaultSpan } from './chaos';
import { type ChartedRun, DATA_LOSS_COLOR, FAULT_COLOR, HATCH, LEFT, legend, SHAPES, timeScale } from './chart-svg';

const KIND_ROW = 12;
const LOSS_ROW = 10;

/** A shape for every kind of fault the run held, kinds in order of name, so a new kind needs no change here. */
function shapesByKind(faults: FaultSpan[]): Map<string, string> {
  const kinds = [...new Set(faults.map((fault) => fault.kind))].sort();
  return new Map(kinds.map((kind, i) => [kind, SHAPES[i % SHAPES.length] as string]));
}

/** The legend of the band from `top`, then the band and its data-loss row under it. */
export function faultBand(result: ChartedRun, top: number): { svg: string[]; bottom: number } {
  const { faults } = result.timeline;
  const { x } = timeScale(result.timeline);
  const shapes = shapesByKind(faults);
  const held = (kind: string) => faults.filter((fault) => fault.kind === kind).length;
  const key = legend(
    [
      { label: 'faults: one row per kind, a marker at each start', color: FAULT_COLOR },
      { label: 'hatched: a fault that loses the data (early Expired! allowed)', color: `url(#${HATCH})` },
    ],
    top,
  );
  const kinds = [...shapes.keys()];
  const rowTop = (kind: string) => key.bottom + 10 + kinds.indexOf(kind) * (KIND_ROW + 2);
  const lossTop = rowTop(kinds.at(-1) ?? '') + KIND_ROW + 6;
  const seconds = (t: number) => ((t - result.timeline.start) / 1000).toFixed(1);
  const title = (fault: FaultSpan) => `<title>${fault.kind} ${seconds(fault.start)}-${seconds(fault.end)} s</title>`;
  const fault = (span: FaultSpan) => {
    const [x1, x2] = [x(span.start), x(span.end)];
    const middle = rowTop(span.kind) + KIND_ROW / 2;
    // The span itself at least a pixel wide; the marker is what the eye finds.
    const bar = `<rect x="${x1.toFixed(1)}" y="${middle - 1}" width="${Math.max(x2 - x1, 1).toFixed(1)}" height="2" fill="${FAULT_COLOR}"/>`;
    const marker = `<path transform="translate(${x1.toFixed(1)} ${middle})" d="${shapes.get(span.kind)}" fill="${span.dataLoss ? DATA_LOSS_COLOR : FAULT_COLOR}" stroke="#1f2328" stroke-width="0.6"/>`;
    return `<g class="fault" data-kind="${span.kind}">${title(span)}${bar}${marker}</g>`;
  };
  const loss = (span: FaultSpan) => {
    const [x1, x2] = [x(span.start), x(span.end)];
    return `<rect class="data-loss" x="${x1.toFixed(1)}" y="${lossTop}" width="${Math.max(x2 - x1, 2).toFixed(1)}" height="${LOSS_ROW}" fill="url(#${HATCH})" stroke="${DATA_LOSS_COLOR}" stroke-width="0.5">${title(span)}</rect>`;
  };
  const rowLabel = (text: string, middle: number, shape?: string) =>
    `<text x="${LEFT - 18}" y="${middle + 4}" text-anchor="end" font-size="11">${text}</text>` +
    (shape
      ? `<path transform="translate(${LEFT - 9} ${middle})" d="${shape}" fill="${FAULT_COLOR}" stroke="#1f2328" stroke-width="0.6"/>`
      : '');
  const rowLine = (kind: string) =>
    `<line x1="${LEFT}" y1="${rowTop(kind) + KIND_ROW / 2}" x2="${x(result.timeline.end).toFixed(1)}" y2="${rowTop(kind) + KIND_ROW / 2}" stroke="#eaeef2"/>`;
  return {
    svg: [
      ...key.svg,
      ...kinds.map(rowLine),
      ...kinds.map((kind) => rowLabel(`${kind} (${held(kind)})`, rowTop(kind) + KIND_ROW / 2, shapes.get(kind))),
      ...faults.map(fault),
      rowLabel('data lost', lossTop + LOSS_ROW / 2),
      ...faults.filter((span) => span.dataLoss).map(loss),
    ],
    bottom: lossTop + LOSS_ROW,
  };
}
