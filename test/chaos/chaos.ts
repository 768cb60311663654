import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Offline, startOffline } from '../support/offline';
import { checkHistory, type DataLoss, epochLostData, type Operation, skippedNumbers } from './history';
import { runLoad } from './load';
import { type ChaosTarget, dynamoDbTarget, redisTarget } from './targets';
import {
  type Explanation,
  explainUnknown,
  lookupUntil,
  recordSeenAt,
  type UnknownOutcome,
  unknownReason,
  watchStalls,
} from './unknowns';

export interface ChaosOptions {
  store: 'redis' | 'dynamodb';
  seconds: number;
  seed: number;
  /** Called with each fault as it is applied. */
  onFault?: (name: string) => void;
  /** Writes the service's log (its WARN and ERROR lines) to this file, then one line per fault held. */
  logFile?: string | undefined;
}

/** One fault as it was held: from before it was applied to after it was healed. */
export interface FaultSpan {
  kind: string;
  start: number;
  end: number;
  dataLoss: boolean;
}

export interface ChaosResult {
  store: string;
  seconds: number;
  seed: number;
  operations: number;
  faults: Record<string, number>;
  unavailable: number;
  /** Requests whose reply the service lost, by how it settled them (read from its log). */
  lostReplies: { applied: number; notApplied: number; unknown: number };
  /** The unknown outcomes by how a fault explains each; those no fault explains are anomalies too. */
  unknownExplained: Partial<Record<Explanation | 'unexplained', number>>;
  /** The same, by the kind of fault: "store unreachable for the whole lookup (hang-new)", say. */
  unknownFaults: Record<string, number>;
  /** How long the 503s took: the 99th percentile and the slowest, in ms. */
  unavailableMs: { p99: number; worst: number };
  /** Times the harness's event loop stalled for half the store's timeout or more. */
  stalls: number;
  /** Numbers skipped in windows that lost no data: increments applied although answered 503. */
  applied503s: number;
  /** Checks at the end of each epoch that the counter never exists without an expiry. */
  expiryChecks: number;
  anomalies: string[];
  /** What a chart of the run needs: epoch ms of the start and end, every fault and every answer. */
  timeline: { start: number; end: number; faults: FaultSpan[]; operations: Operation[] };
}

const WINDOW_SECONDS = 2;
const STORE_TIMEOUT_MS = 500;

/** A small seeded generator, so a run that found something can be repeated with its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * Runs load against real serverless-offline and a real store behind the fault proxy while faults
 * are injected one at a time (each held 0.3-1.5 s, then 0.5-2 s of calm), then checks the whole
 * history against the counting contract.
 */
export async function runChaos({ store, seconds, seed, onFault, logFile }: ChaosOptions): Promise<ChaosResult> {
  const random = seeded(seed);
  const target = store === 'redis' ? await redisTarget() : await dynamoDbTarget();
  let offline: Offline | undefined;
  try {
    offline = await startOffline({
      env: {
        ...target.env,
        HELLO_WINDOW_SECONDS: String(WINDOW_SECONDS),
        STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
      },
      output: 'discard',
    });
    const start = Date.now();
    const until = start + seconds * 1000;
    const faults: Record<string, number> = {};
    const spans: FaultSpan[] = [];
    const dataLosses: DataLoss[] = [];
    const injecting = injectFaults(target, until, random, (span) => {
      faults[span.kind] = (faults[span.kind] ?? 0) + 1;
      spans.push(span);
      if (span.dataLoss) dataLosses.push({ start: span.start, end: span.end });
      onFault?.(span.kind);
    });
    const expiry = { checks: 0, withoutExpiry: 0 };
    const load = runLoad({ baseUrl: offline.baseUrl, windowMs: WINDOW_SECONDS * 1000, until, concurrency: 8, random });
    const watching = watchExpiry(target, until, expiry);
    const stallWatch = watchStalls(STORE_TIMEOUT_MS / 2);
    const [epochs] = await Promise.all([load, injecting, watching]);
    stallWatch.stop();
    const end = Date.now();
    if (logFile) {
      const faultLines = spans.map((span) => JSON.stringify({ fault: span.kind, start: span.start, end: span.end }));
      writeFileSync(logFile, `${offline.output()}\n${faultLines.join('\n')}\n`);
    }
    const log = serviceLog(offline.output());
    const anomalies = checkHistory(epochs, {
      windowMs: WINDOW_SECONDS * 1000,
      toleranceMs: 100,
      maxAnswerMs: 5_000,
      dataLosses,
      exactFailures: target.exactFailures,
      unknownOutcomes: log.unknown.map((unknown) => unknown.at),
    });
    if (expiry.withoutExpiry > 0) anomalies.push(`the counter existed without an expiry ${expiry.withoutExpiry} times`);
    const unknownExplained: ChaosResult['unknownExplained'] = {};
    const unknownFaults: Record<string, number> = {};
    for (const unknown of log.unknown) {
      const explained = explainUnknown(unknown, spans, stallWatch.stalls, {
        timeoutMs: STORE_TIMEOUT_MS,
        toleranceMs: 150,
      });
      const label = explained?.by ?? 'unexplained';
      unknownExplained[label] = (unknownExplained[label] ?? 0) + 1;
      const detail = explained ? `${explained.by} (${explained.fault})` : `unexplained (${unknown.reason})`;
      unknownFaults[detail] = (unknownFaults[detail] ?? 0) + 1;
      if (!explained) {
        anomalies.push(
          `outcome unknown (${unknown.reason}) at ${new Date(unknown.at).toISOString()}, and no fault explains it`,
        );
      }
    }
    const operations = epochs.flatMap((epoch) => [...epoch.hellos, ...epoch.againOps]);
    const unavailableMs = operations
      .filter((op) => op.status === 503)
      .map((op) => op.end - op.start)
      .sort((a, b) => a - b);
    return {
      store,
      seconds,
      seed,
      operations: operations.length,
      faults,
      unavailable: operations.filter((op) => op.status === 503).length,
      lostReplies: { applied: log.applied, notApplied: log.notApplied, unknown: log.unknown.length },
      unknownExplained,
      unknownFaults,
      unavailableMs: {
        p99: unavailableMs[Math.max(0, Math.ceil(unavailableMs.length * 0.99) - 1)] ?? 0,
        worst: unavailableMs.at(-1) ?? 0,
      },
      stalls: stallWatch.stalls.length,
      applied503s: epochs
        .filter((epoch) => !epochLostData(epoch, dataLosses))
        .reduce((total, epoch) => total + skippedNumbers(epoch), 0),
      expiryChecks: expiry.checks,
      anomalies,
      timeline: { start, end, faults: spans, operations },
    };
  } finally {
    await offline?.stop();
    await target.stop();
  }
}

async function injectFaults(
  target: ChaosTarget,
  until: number,
  random: () => number,
  record: (span: FaultSpan) => void,
): Promise<void> {
  const names = Object.keys(target.faults);
  await sleep(1_000);
  while (Date.now() < until - 2_500) {
    const name = names[Math.floor(random() * names.length)] ?? 'reset';
    const fault = target.faults[name];
    if (!fault) continue;
    const start = Date.now();
    const heal = await fault.apply(random);
    await sleep(300 + 1_200 * random());
    await heal();
    record({ kind: name, start, end: Date.now(), dataLoss: fault.dataLoss });
    await sleep(500 + 1_500 * random());
  }
}

/** Asks the store directly, every 250 ms, whether the counter exists without an expiry. */
async function watchExpiry(
  target: ChaosTarget,
  until: number,
  expiry: { checks: number; withoutExpiry: number },
): Promise<void> {
  while (Date.now() < until) {
    const withoutExpiry = await target.keyWithoutExpiry();
    if (withoutExpiry !== undefined) expiry.checks += 1;
    if (withoutExpiry) expiry.withoutExpiry += 1;
    await sleep(250);
  }
}

/**
 * What the service's log (its WARN and ERROR lines) says of lost replies: settled as applied (a
 * 200), as not applied (an exact 503), or unknown, with when and why each unknown one was answered.
 */
function serviceLog(output: string): { applied: number; notApplied: number; unknown: UnknownOutcome[] } {
  const unknown: UnknownOutcome[] = [];
  let applied = 0;
  let notApplied = 0;
  for (const line of output.split('\n')) {
    if (line.includes('after the write was applied; answered from its record')) applied += 1;
    else if (line.includes('the write was not applied, and now cannot be')) notApplied += 1;
    else if (line.includes('"name":"OutcomeUnknownError"')) {
      const at = Date.parse(/"timestamp":"([^"]+)"/.exec(line)?.[1] ?? '') || Number.POSITIVE_INFINITY;
      unknown.push({ at, reason: unknownReason(line), until: lookupUntil(line), seenAt: recordSeenAt(line) });
    }
  }
  return { applied, notApplied, unknown };
}

/** One row of the table `npm run chaos` prints. */
export function formatResult(result: ChaosResult): string {
  const faults = Object.entries(result.faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const { applied, notApplied, unknown } = result.lostReplies;
  const lost = applied + notApplied + unknown;
  const share = lost === 0 ? '-' : `${((100 * unknown) / lost).toFixed(1)}%`;
  const explained = Object.entries(result.unknownExplained)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, count]) => `${label} ${count}`)
    .join(', ');
  const { p99, worst } = result.unavailableMs;
  return `| ${result.store} | ${(result.seconds / 60).toFixed(1)} | ${result.operations} | ${faults} | ${result.unavailable} | ${p99} / ${worst} | ${applied} / ${notApplied} / ${unknown} | ${share} | ${explained || '-'} | ${result.applied503s} | ${result.expiryChecks} | ${result.anomalies.length} |`;
}

export const TABLE_HEADER = [
  '| store | minutes | operations | faults injected | 503s | 503 ms: p99 / worst | lost replies: 200 / exact 503 / unknown | unknown share | unknowns explained by | 503s applied | expiry checks | anomalies |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
].join('\n');
