// A made-up chaos run for the chart's tests: faults held and healed as `runChaos` does (one at a
// time, 0.3-1.5 s held, 0.5-2 s of calm), and answers at a steady rate that count up in 2-second
// windows, answer 503 or fail during most faults and Expired! after a fault that loses the data.
import type { FaultSpan } from '../chaos/chaos';
import type { ChartedRun } from '../chaos/chart-svg';
import type { Operation } from '../chaos/history';

const START = 1_800_000_000_000;
const WINDOW_MS = 2_000;
const DATA_LOSS_KINDS = new Set(['flush', 'kill']);

/** The same fraction in [0, 1) for the same `i`: varied but repeatable without a seed. */
const scatter = (i: number) => (Math.imul(i + 1, 2_654_435_761) >>> 0) / 2 ** 32;

function faultsOver(seconds: number, kinds: string[]): FaultSpan[] {
  const faults: FaultSpan[] = [];
  let at = START + 1_000;
  for (let i = 0; at < START + seconds * 1_000 - 2_500; i += 1) {
    const kind = kinds[Math.floor(scatter(3 * i) * kinds.length)] ?? 'reset';
    const end = at + 300 + 1_200 * scatter(3 * i + 1);
    faults.push({ kind, start: at, end, dataLoss: DATA_LOSS_KINDS.has(kind) });
    at = end + 500 + 1_500 * scatter(3 * i + 2);
  }
  return faults;
}

function answer(end: number, status: number, body: string): Operation {
  return { path: '/hello/again', start: end - 4, end, status, body };
}

/** `seconds` of chaos with faults of `kinds`, one answer every `everyMs` ms. */
export function syntheticChaosRun(seconds: number, kinds: string[], everyMs = 6): ChartedRun {
  const faults = faultsOver(seconds, kinds);
  const operations: Operation[] = [];
  let windowStart = START;
  let next = 1;
  let fault = 0;
  for (let at = START; at < START + seconds * 1_000; at += everyMs) {
    while ((faults[fault]?.end ?? Number.POSITIVE_INFINITY) < at) fault += 1;
    const current = faults[fault];
    const during = current && current.start <= at ? current : undefined;
    const roll = scatter(at);
    if (during?.dataLoss) operations.push(answer(at, 200, 'Expired!'));
    else if (during && roll < 0.7) operations.push(answer(at, 503, 'Service Unavailable'));
    else if (during && roll < 0.75) operations.push(answer(at, 0, 'TypeError: fetch failed'));
    else if (at - windowStart > WINDOW_MS + 300) {
      operations.push({ ...answer(at, 200, 'Hello ELECLE 1'), path: '/hello' });
      [windowStart, next] = [at, 2];
    } else if (at - windowStart > WINDOW_MS) operations.push(answer(at, 200, 'Expired!'));
    else operations.push(answer(at, 200, `Hello ELECLE ${next++}`));
  }
  return {
    store: 'redis',
    seconds,
    seed: 1,
    anomalies: [],
    timeline: { start: START, end: START + seconds * 1_000, faults, operations },
  };
}
