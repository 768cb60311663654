/**
 * The history checker: verifies the counting contract over every answer a chaos run recorded (the
 * idea behind Jepsen's checkers, for this one counter). The load runs in epochs: /hello until it
 * answers 200, then concurrent /hello/again, and no /hello while any /hello/again is in flight, so
 * each epoch holds exactly one window opening.
 */

export interface Operation {
  path: '/hello' | '/hello/again';
  /** Epoch milliseconds, on the clock the service and the store share. */
  start: number;
  end: number;
  /** The HTTP status, or 0 when no answer came (network error or client timeout). */
  status: number;
  body: string;
}

export interface Epoch {
  /** The /hello attempts, the last one answered 200 (earlier ones 503 or no answer). */
  hellos: Operation[];
  againOps: Operation[];
}

/** A fault that loses the store's data (a restart of a store that keeps nothing, a flush). */
export interface DataLoss {
  start: number;
  end: number;
}

export interface CheckOptions {
  windowMs: number;
  /** How far the clocks involved may disagree, and how late an expiry may be applied. */
  toleranceMs: number;
  /** An answer slower than this is an anomaly: the service promises an answer in bounded time. */
  maxAnswerMs: number;
  dataLosses: DataLoss[];
  /**
   * Whether a 503 promises that nothing changed (Redis): a skipped number is then an anomaly, unless
   * data was lost or the service said it could not tell. Else (DynamoDB) a 503 may have counted, and
   * a skipped number needs only a failed request to explain it.
   */
  exactFailures: boolean;
  /** When the service logged a request whose outcome it could not find out (epoch ms). */
  unknownOutcomes: number[];
}

const NUMBER = /^Hello ELECLE (\d+)$/;

/** Every broken promise found, one line each; empty when the history keeps the contract. */
export function checkHistory(epochs: Epoch[], options: CheckOptions): string[] {
  const anomalies: string[] = [];
  epochs.forEach((epoch, index) => {
    for (const problem of checkEpoch(epoch, options)) anomalies.push(`epoch ${index + 1}: ${problem}`);
  });
  return anomalies;
}

function checkEpoch({ hellos, againOps }: Epoch, options: CheckOptions): string[] {
  const problems: string[] = [];
  for (const op of [...hellos, ...againOps]) problems.push(...checkAnswer(op, options));
  const opened = hellos.at(-1);
  if (opened?.status !== 200) return problems;

  const { windowMs, toleranceMs } = options;
  const closedBy = opened.end + windowMs + toleranceMs;
  const openUntilAtLeast = opened.start + windowMs - toleranceMs;
  const lostData = (until: number) =>
    options.dataLosses.some((loss) => loss.start <= until && loss.end >= opened.start);

  const seen = new Map<number, Operation>();
  let firstExpiredEnd = Number.POSITIVE_INFINITY;
  for (const op of [...againOps].sort((a, b) => a.end - b.end)) {
    if (op.status !== 200) continue;
    if (op.body === 'Expired!') {
      firstExpiredEnd = Math.min(firstExpiredEnd, op.end);
      if (op.end < openUntilAtLeast && !lostData(op.end)) {
        problems.push(`"Expired!" ${openUntilAtLeast - op.end} ms before the window could have closed`);
      }
      continue;
    }
    const n = Number(NUMBER.exec(op.body)?.[1]);
    if (seen.has(n)) problems.push(`${n} returned twice in one window`);
    seen.set(n, op);
    if (n < 2) problems.push(`/hello/again returned ${n}`);
    const startedBefore = againOps.filter((other) => other.start <= op.end).length;
    if (n > 1 + startedBefore) problems.push(`${n} returned when only ${startedBefore} increments had started`);
    if (op.start > closedBy) problems.push(`${n} returned to a request that started after the window closed`);
    if (op.start > firstExpiredEnd) problems.push(`${n} returned after "Expired!": the window reopened`);
  }

  const skipped = skippedNumbers({ hellos, againOps });
  const unanswered = againOps.filter((op) => op.status !== 200).length;
  if (skipped > unanswered) problems.push(`${skipped} numbers skipped but only ${unanswered} requests failed`);
  else if (options.exactFailures && skipped > 0 && !epochLostData({ hellos, againOps }, options.dataLosses)) {
    const end = Math.max(opened.end, ...againOps.map((op) => op.end));
    const unknownAt = options.unknownOutcomes.filter((at) => at >= opened.start && at <= end);
    const unexplained = skipped - explainedByUnknown(missingNumbers(seen), unknownAt, againOps);
    if (unexplained > 0) {
      const said = unknownAt.length > 0 ? ` (${unknownAt.length} said to be unknown explain the rest)` : '';
      problems.push(`${unexplained} numbers skipped: increments answered 503 had been applied${said}`);
    }
  }
  return problems;
}

function missingNumbers(seen: Map<number, Operation>): number[] {
  const highest = Math.max(1, ...seen.keys());
  return Array.from({ length: highest - 1 }, (_, index) => index + 2).filter((n) => !seen.has(n));
}

/**
 * How many skipped numbers the unknown outcomes explain, each one at most: an increment answered as
 * unknown at time t was applied before t or not at all (after t Redis refuses it), so it can only
 * have taken a number below every number shown to a request that started after t.
 */
function explainedByUnknown(missing: number[], unknownAt: number[], againOps: Operation[]): number {
  const shownAfter = (at: number) =>
    Math.min(
      ...againOps
        .filter((op) => op.start > at && op.status === 200)
        .map((op) => Number(NUMBER.exec(op.body)?.[1] ?? Number.POSITIVE_INFINITY)),
    );
  const caps = unknownAt.map(shownAfter).sort((a, b) => a - b);
  let explained = 0;
  for (const n of missing) {
    const index = caps.findIndex((cap) => cap > n);
    if (index === -1) continue;
    caps.splice(index, 1);
    explained += 1;
  }
  return explained;
}

/**
 * Numbers below the highest one shown that no request was shown: increments applied without a 200.
 * Only those below the highest are seen, so the load ends each epoch with one last increment.
 */
export function skippedNumbers({ hellos, againOps }: Epoch): number {
  if (hellos.at(-1)?.status !== 200) return 0;
  const shown = new Set(
    againOps.flatMap((op) => {
      const match = op.status === 200 ? NUMBER.exec(op.body) : null;
      return match ? [Number(match[1])] : [];
    }),
  );
  return Math.max(1, ...shown) - 1 - shown.size;
}

/** Whether the store lost its data while this epoch's window was open (a skipped number is then no news). */
export function epochLostData({ hellos, againOps }: Epoch, dataLosses: DataLoss[]): boolean {
  const opened = hellos.at(-1);
  if (!opened) return false;
  const end = Math.max(opened.end, ...againOps.map((op) => op.end));
  return dataLosses.some((loss) => loss.start <= end && loss.end >= opened.start);
}

function checkAnswer(op: Operation, { maxAnswerMs }: CheckOptions): string[] {
  const problems: string[] = [];
  if (op.end - op.start > maxAnswerMs) problems.push(`${op.path} took ${op.end - op.start} ms`);
  if (op.status === 503 && op.body !== 'Service Unavailable') problems.push(`503 with body ${JSON.stringify(op.body)}`);
  if (op.status === 200) {
    const valid = op.path === '/hello' ? op.body === 'Hello ELECLE 1' : op.body === 'Expired!' || NUMBER.test(op.body);
    if (!valid) problems.push(`${op.path} answered ${JSON.stringify(op.body.slice(0, 80))}`);
  } else if (op.status !== 503) {
    problems.push(`${op.path} answered status ${op.status}`);
  }
  return problems;
}
