import { describe, expect, it } from 'vitest';
import {
  explainUnknown,
  type HeldFault,
  lookupUntil,
  recordSeenAt,
  type UnknownOutcome,
  unknownReason,
} from '../chaos/unknowns';

const T = 500;
const OPTIONS = { timeoutMs: T, toleranceMs: 150 };
/** An unknown answered at 10 s: its lookups ran from about 9.5 s, its write went out from about 9 s. */
const AT = 10_000;
const lookupFailed: UnknownOutcome = { at: AT, reason: 'lookup-failed' };
const destroyed: UnknownOutcome = { at: AT, reason: 'record-destroyed' };
const fault = (kind: string, start: number, end: number): HeldFault => ({
  kind,
  start,
  end,
  dataLoss: kind === 'flush' || kind === 'kill',
});

/** The explanation's kind alone, or undefined. */
const by = (...args: Parameters<typeof explainUnknown>) => explainUnknown(...args)?.by;

describe('Function: explainUnknown', () => {
  it('names the fault that explains it', () => {
    expect(explainUnknown(lookupFailed, [fault('hang-new', 9_000, 10_000)], [], OPTIONS)).toEqual({
      by: 'store unreachable for the whole lookup',
      fault: 'hang-new',
    });
  });

  it('explains a record found destroyed by a flush or a kill between the write and the lookup, and by nothing else', () => {
    expect(by(destroyed, [fault('flush', 9_200, 9_300)], [], OPTIONS)).toBe('record destroyed');
    expect(by(destroyed, [fault('kill', 8_000, 9_700)], [], OPTIONS)).toBe('record destroyed');
    // A flush before the write took the ring too, if no write of the connection made it anew since;
    // one longer ago than a ring lives, or a fault that loses nothing, destroyed no record of it.
    expect(by(destroyed, [fault('flush', 5_000, 5_100)], [], OPTIONS)).toBe('record destroyed');
    expect(by({ ...destroyed, at: 70_000 }, [fault('flush', 5_000, 5_100)], [], OPTIONS)).toBeUndefined();
    expect(by(destroyed, [fault('reset', 9_200, 9_900)], [], OPTIONS)).toBeUndefined();
  });

  it('explains a destroyed record only by a flush or a kill after the service last saw it, when the log says when', () => {
    const seen: UnknownOutcome = { ...destroyed, seenAt: 7_000 };
    expect(by(seen, [fault('flush', 8_000, 8_100)], [], OPTIONS)).toBe('record destroyed');
    expect(by(seen, [fault('kill', 6_000, 7_500)], [], OPTIONS)).toBe('record destroyed');
    // Over before it was last seen: the ring was there after it, and something else took it.
    expect(by(seen, [fault('flush', 5_000, 5_100)], [], OPTIONS)).toBeUndefined();
  });

  it('explains failed lookups by refused connections, a stopped or frozen store, only when they span the lookup window', () => {
    for (const kind of ['refuse-new', 'freeze', 'kill']) {
      expect(by(lookupFailed, [fault(kind, 9_000, 10_100)], [], OPTIONS)).toBe(
        'store unreachable for the whole lookup',
      );
      // Healed in the middle of the window: the next lookup would have got through.
      expect(by(lookupFailed, [fault(kind, 9_000, 9_600)], [], OPTIONS)).toBeUndefined();
    }
  });

  it('explains failed lookups by hanging connections or latency in force when the lookups began, told apart when the fault healed within the window', () => {
    expect(by(lookupFailed, [fault('hang-new', 9_000, 10_000)], [], OPTIONS)).toBe(
      'store unreachable for the whole lookup',
    );
    expect(by(lookupFailed, [fault('hang-new', 9_000, 9_600)], [], OPTIONS)).toBe(
      'lookup waited on an attempt begun in the fault',
    );
    expect(by(lookupFailed, [fault('latency', 9_300, 11_000)], [], OPTIONS)).toBe(
      'store unreachable for the whole lookup',
    );
    // Over before the lookups began: a new connection was answered.
    expect(by(lookupFailed, [fault('hang-new', 8_000, 9_100)], [], OPTIONS)).toBeUndefined();
  });

  it("explains failed lookups by a fault that struck the lookup's connection during its window, not one before it", () => {
    expect(by(lookupFailed, [fault('half-open', 9_600, 10_500)], [], OPTIONS)).toBe("fault on the lookup's connection");
    expect(by(lookupFailed, [fault('reset-in-flight', 9_900, 10_300)], [], OPTIONS)).toBe(
      "fault on the lookup's connection",
    );
    // A half-open that struck before the write: a lookup on a new connection is not blackholed.
    expect(by(lookupFailed, [fault('half-open', 8_500, 10_500)], [], OPTIONS)).toBeUndefined();
  });

  it('explains failed lookups by a stall of the harness of half the timeout or more during the window', () => {
    expect(by(lookupFailed, [], [{ start: 9_600, end: 9_900 }], OPTIONS)).toBe('harness stalled');
    expect(by(lookupFailed, [], [{ start: 9_600, end: 9_700 }], OPTIONS)).toBeUndefined();
    expect(by(lookupFailed, [], [{ start: 8_000, end: 9_000 }], OPTIONS)).toBeUndefined();
  });

  it('explains nothing in a calm run, and never a record overwritten by later writes', () => {
    expect(by(lookupFailed, [], [], OPTIONS)).toBeUndefined();
    const overwritten: UnknownOutcome = { at: AT, reason: 'other' };
    expect(by(overwritten, [fault('flush', 9_200, 9_300), fault('kill', 9_000, 10_100)], [], OPTIONS)).toBe(undefined);
  });
});

describe('Function: explainUnknown, with the window the log gives', () => {
  it('places the lookup window where the service says it closed, not when a busy process logged the answer', () => {
    // Answered (logged) at 10 s, but the window closed at 9.7 s: a kill until 9.6 s spans it.
    const late: UnknownOutcome = { at: AT, reason: 'lookup-failed', until: 9_700 };
    expect(by(late, [fault('kill', 8_000, 9_600)], [], OPTIONS)).toBe('store unreachable for the whole lookup');
    expect(by({ ...late, until: undefined }, [fault('kill', 8_000, 9_600)], [], OPTIONS)).toBeUndefined();
  });

  it('reads the close of the window from the line', () => {
    expect(lookupUntil('"cause":"no answer to the lookup before 2026-12-07T05:59:00.976Z"')).toBe(
      Date.parse('2026-12-07T05:59:00.976Z'),
    );
    expect(lookupUntil('"cause":"DynamoDB UpdateItem failed"')).toBeUndefined();
  });

  it('reads when a destroyed record was last seen from the line', () => {
    expect(
      recordSeenAt(
        "and its connection's record of outcomes was destroyed (flushed, evicted, or lost with the store's data) since 2026-12-07T05:59:00.976Z, when it was last seen",
      ),
    ).toBe(Date.parse('2026-12-07T05:59:00.976Z'));
    expect(
      recordSeenAt(
        "its connection's record of outcomes was destroyed (flushed, evicted, or lost with the store's data)",
      ),
    ).toBeUndefined();
  });
});

describe('Function: unknownReason', () => {
  it("reads the reason from the service's log line", () => {
    expect(
      unknownReason(
        'Redis did not answer within 500 ms; reconnecting, and so did asking whether the write was applied',
      ),
    ).toBe('lookup-failed');
    expect(
      unknownReason(
        "Redis connection failed, and its connection's record of outcomes was destroyed (flushed, evicted, or lost with the store's data)",
      ),
    ).toBe('record-destroyed');
    expect(unknownReason("Redis connection failed, and its connection's record of outcomes is gone (evicted?)")).toBe(
      'record-destroyed',
    );
    expect(unknownReason("Redis connection failed, and later writes have taken its record's place")).toBe('other');
  });
});
