// The chart of a chaos run (`npm run chaos -- --chart file.svg`). A short run is drawn answer by
// answer: the number each carried or the lane of its outcome, with the faults shaded and labelled
// by kind. A long run would print its labels over each other, so it gets the summary instead.
import { summaryChart } from './chart-summary';
import {
  axisTitles,
  type ChartedRun,
  FAULT_COLOR,
  HATCH,
  LANES,
  LEFT,
  NUMBER_COLOR,
  numberIn,
  type Outcome,
  outcome,
  page,
  step,
  timeScale,
  timeTicks,
  valueTicks,
} from './chart-svg';

export type { ChartedRun } from './chart-svg';

const PLOT_TOP = 104; // title, subtitle, legend, then the fault labels inside the shading
const PLOT_HEIGHT = 260;
const LANE_HEIGHT = 16;
/** How far apart a fault label (12 px text turned on its side) needs the next one to start. */
const LABEL_WIDTH = 14;
/** Beyond this a 2-second window is narrower than a label, and its climbing numbers a smear. */
const LONGEST_DRAWN_ANSWER_BY_ANSWER_SECONDS = 120;

/** Whether every fault label fits beside the next, and every window's climb can be seen. */
function readsAnswerByAnswer(timeline: ChartedRun['timeline']): boolean {
  const { seconds, x } = timeScale(timeline);
  const starts = timeline.faults.map((fault) => x(fault.start)).sort((a, b) => a - b);
  const labelsFit = starts.every((at, i) => i === 0 || at - (starts[i - 1] ?? at) >= LABEL_WIDTH);
  return labelsFit && seconds <= LONGEST_DRAWN_ANSWER_BY_ANSWER_SECONDS;
}

/**
 * One mark per answer, except that answers landing on the same pixel share one: a run of
 * minutes has hundreds of thousands. Numbers are dots, the other outcomes ticks in their lane.
 */
function marks(points: [number, number][], draw: string): string {
  const unique = new Set(points.map(([x, y]) => `M${Math.round(x)} ${Math.round(y)}${draw}`));
  return [...unique].join('');
}

/** The SVG chart of a chaos run's timeline. */
export function chaosChart(result: ChartedRun): string {
  return readsAnswerByAnswer(result.timeline) ? answerByAnswerChart(result) : summaryChart(result);
}

function answerByAnswerChart(result: ChartedRun): string {
  const { faults, operations } = result.timeline;
  const highest = operations.reduce((max, op) => Math.max(max, numberIn(op) ?? 0), 1);
  const yStep = step(highest, 5);
  const yTop = Math.ceil(highest / yStep) * yStep;
  const { x } = timeScale(result.timeline);
  const y = (n: number) => PLOT_TOP + PLOT_HEIGHT - (n / yTop) * PLOT_HEIGHT;
  const laneTop = (i: number) => PLOT_TOP + PLOT_HEIGHT + 8 + i * LANE_HEIGHT;
  const bottom = laneTop(LANES.length);

  const shading = faults.map((fault) => {
    const [x1, x2] = [x(fault.start), x(fault.end)];
    // A data loss hatched, so that it reads without its colour.
    const fill = fault.dataLoss ? `fill="url(#${HATCH})"` : `fill="${FAULT_COLOR}" fill-opacity="0.16"`;
    return [
      `<rect class="fault" x="${x1.toFixed(1)}" y="${PLOT_TOP}" width="${(x2 - x1).toFixed(1)}" height="${bottom - PLOT_TOP}" ${fill}/>`,
      `<text class="fault-label" transform="translate(${(x1 + 3).toFixed(1)} ${PLOT_TOP + 4}) rotate(90)" fill="#1f2328">${fault.kind}</text>`,
    ].join('');
  });
  const byOutcome = (wanted: Outcome) => operations.filter((op) => outcome(op) === wanted);
  const numbers = marks(
    byOutcome('number').map((op) => [x(op.end), y(numberIn(op) ?? 0)]),
    'h0',
  );
  const lanes = LANES.map(({ outcome: lane, label, color }, i) => {
    const ticks = marks(
      byOutcome(lane).map((op) => [x(op.end), laneTop(i) + 2]),
      `v${LANE_HEIGHT - 4}`,
    );
    return [
      // The name in dark text beside its colour: a light colour would not read as text.
      `<text x="${LEFT - 24}" y="${laneTop(i) + 12}" text-anchor="end">${label}</text><rect x="${LEFT - 18}" y="${laneTop(i) + 2}" width="12" height="${LANE_HEIGHT - 4}" fill="${color}"/>`,
      `<path class="${lane}" d="${ticks}" stroke="${color}" stroke-width="1"/>`,
    ].join('');
  });
  const legend = [
    `<circle cx="${LEFT + 4}" cy="64" r="3" fill="${NUMBER_COLOR}"/><text x="${LEFT + 12}" y="68">Hello ELECLE n, at n</text>`,
    `<rect x="${LEFT + 150}" y="58" width="14" height="12" fill="${FAULT_COLOR}" fill-opacity="0.3"/><text x="${LEFT + 170}" y="68">fault, labelled by kind</text>`,
    `<rect x="${LEFT + 330}" y="58" width="14" height="12" fill="url(#${HATCH})"/><text x="${LEFT + 350}" y="68">hatched: a fault that loses the data (early Expired! allowed)</text>`,
  ];
  const size = {
    height: bottom + 44,
    title: `Answers of a chaos run against ${result.store} over time, with its faults shaded`,
    heading: `Chaos run against ${result.store}: every answer over time`,
  };
  return page(result, size, [
    ...legend,
    ...shading,
    ...valueTicks(yTop, yStep, y),
    `<path class="numbers" d="${numbers}" stroke="${NUMBER_COLOR}" stroke-width="3" stroke-linecap="round"/>`,
    ...lanes,
    ...timeTicks(result.timeline, bottom),
    ...axisTitles(
      'number in the answer',
      PLOT_TOP + PLOT_HEIGHT / 2,
      'seconds since the run started (each answer at the time it came)',
      bottom,
    ),
  ]);
}
