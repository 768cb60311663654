/**
 * Why each outcome the service could not find out was unknown. The service answers a lost reply
 * with OutcomeUnknownError only when its lookup failed for the whole lookup window (the store's
 * timeout, ending when it answered), or when the record of outcomes was gone. Each of those must
 * come from a fault the run injected: an unknown that none explains is a flaw of the service (a
 * lookup that waited on the wrong socket, a record written where it is not read), reported as an
 * anomaly.
 */

/** What the service's log line says of an unknown outcome. */
export type UnknownReason =
  /** No lookup succeeded ("..., and so did asking whether the write was applied"). */
  | 'lookup-failed'
  /** The lookup found no record of outcomes at all (Redis: the ring is gone). */
  | 'record-destroyed'
  /** Anything else (Redis: later writes took the record's place), which no fault explains. */
  | 'other';

export interface UnknownOutcome {
  /** When the service answered it (its log line's timestamp, epoch ms). */
  at: number;
  reason: UnknownReason;
  /**
   * When its lookup window closed, when the log says ("no answer to the lookup before ..."): a busy
   * process may log the answer well after it.
   */
  until?: number | undefined;
  /**
   * For a destroyed record, when the service last knew it was there, when the log says ("... since
   * ..., when it was last seen"): it was destroyed after that.
   */
  seenAt?: number | undefined;
}

/** A fault as the run held it: from just before it was applied to just after it was healed. */
export interface HeldFault {
  kind: string;
  start: number;
  end: number;
  dataLoss: boolean;
}

/** A time the harness's own event loop did not run (the machine was too busy to schedule it). */
export interface Stall {
  start: number;
  end: number;
}

export type Explanation =
  | 'record destroyed'
  | 'store unreachable for the whole lookup'
  /** An attempt begun while new connections hung (or latency held them) outlasted the fault. */
  | 'lookup waited on an attempt begun in the fault'
  | "fault on the lookup's connection"
  | 'harness stalled';

/** What explains an unknown outcome: how, and the fault (its kind, or `stall`). */
export interface Explained {
  by: Explanation;
  fault: string;
}

export interface LabelOptions {
  /** The service's STORE_TIMEOUT_MS: a write waits this long, then its lookups as long again. */
  timeoutMs: number;
  /** How far a log timestamp and the harness's clock readings may be off. */
  toleranceMs: number;
}

/**
 * How long a ring outlives its connection's last write (RING_KEPT_MS in lib/counter/redis.ts): how
 * far back a destroying fault may lie when the log does not say when the ring was last seen (a run
 * of a commit from before it did).
 */
const RING_LIFE_MS = 60_000;

/** No connection to the store can be made or used while these last. */
const UNREACHABLE_THROUGHOUT = new Set(['kill', 'freeze', 'refuse-new', 'throttle']);
/** A connection attempt or a command begun while these last takes the whole lookup window to fail. */
const HANGS_AN_ATTEMPT = new Set(['hang-new', 'latency']);
/** These strike connections that exist when they begin: the one a lookup is using, too. */
const STRIKE_EXISTING = new Set([
  'reset',
  'half-open',
  'stall',
  'reset-in-flight',
  'half-open-in-flight',
  'refuse-new',
  'hang-new',
  'latency',
]);

/**
 * The fault that explains an unknown outcome, or undefined when none does. Its lookup window is
 * the timeout before it was answered (give or take the tolerance); the write went out at most two
 * timeouts before that.
 */
export function explainUnknown(
  unknown: UnknownOutcome,
  faults: HeldFault[],
  stalls: Stall[],
  { timeoutMs, toleranceMs }: LabelOptions,
): Explained | undefined {
  const lookupTo = unknown.until ?? unknown.at;
  const lookupFrom = lookupTo - timeoutMs;
  if (unknown.reason === 'record-destroyed') {
    // A ring a flush took stays gone until its connection's next write: the flush may be long
    // before the write (the /hello function writes once a window), but not before the service last
    // saw the ring.
    const since = unknown.seenAt === undefined ? unknown.at - RING_LIFE_MS : unknown.seenAt - toleranceMs;
    const destroyed = faults.find((f) => f.dataLoss && f.start <= lookupTo && f.end >= since);
    return destroyed && { by: 'record destroyed', fault: destroyed.kind };
  }
  if (unknown.reason !== 'lookup-failed') return undefined;
  const inForceAtStart = (f: HeldFault) => f.start <= lookupFrom + toleranceMs && f.end >= lookupFrom;
  const spans = (f: HeldFault) => inForceAtStart(f) && f.end >= lookupTo - toleranceMs;
  const unreachable = faults.find(
    (f) => (UNREACHABLE_THROUGHOUT.has(f.kind) || HANGS_AN_ATTEMPT.has(f.kind)) && spans(f),
  );
  if (unreachable) return { by: 'store unreachable for the whole lookup', fault: unreachable.kind };
  // Healed during the window, but an attempt begun in it still took the window to fail: explained,
  // and told apart, since a new attempt after the fault would have been answered.
  const hung = faults.find((f) => HANGS_AN_ATTEMPT.has(f.kind) && inForceAtStart(f));
  if (hung) return { by: 'lookup waited on an attempt begun in the fault', fault: hung.kind };
  const struck = faults.find(
    (f) => STRIKE_EXISTING.has(f.kind) && f.start >= lookupFrom - toleranceMs && f.start <= lookupTo,
  );
  if (struck) return { by: "fault on the lookup's connection", fault: struck.kind };
  const stalled = stalls.some((s) => s.end - s.start >= timeoutMs / 2 && s.start <= lookupTo && s.end >= lookupFrom);
  return stalled ? { by: 'harness stalled', fault: 'stall' } : undefined;
}

/** When the log line says the lookup window closed (epoch ms), if it says. */
export function lookupUntil(line: string): number | undefined {
  const until = /no answer to the lookup before (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(line)?.[1];
  return until === undefined ? undefined : Date.parse(until);
}

/** When the log line says a destroyed record was last seen (epoch ms), if it says. */
export function recordSeenAt(line: string): number | undefined {
  const seen = /since (\d{4}-\d\d-\d\dT[\d:.]+Z), when it was last seen/.exec(line)?.[1];
  return seen === undefined ? undefined : Date.parse(seen);
}

/** The reason the service's log line gives for an unknown outcome. */
export function unknownReason(message: string): UnknownReason {
  if (message.includes('so did asking whether the write was applied')) return 'lookup-failed';
  // "... is gone (evicted?)": the wording before the rings were created with their connections,
  // so that a run of an older commit is labelled alike.
  if (/record of outcomes (was destroyed|is gone)/.test(message)) return 'record-destroyed';
  return 'other';
}

/**
 * Records the times this process's event loop did not run for `thresholdMs` or more, until stopped:
 * on a shared machine the service's process stalls with it, and a lookup may then miss its window.
 */
export function watchStalls(thresholdMs: number): { stalls: Stall[]; stop(): void } {
  const stalls: Stall[] = [];
  const tickMs = 20;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - last - tickMs >= thresholdMs) stalls.push({ start: last, end: now });
    last = now;
  }, tickMs);
  return { stalls, stop: () => clearInterval(timer) };
}
