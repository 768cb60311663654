import { afterEach, describe, expect, it, vi } from 'vitest';
import { hedged, type Lookup, newWriteId, settleLostWrite } from '../../lib/counter/lost-write';
import { ReplyLostError } from '../../lib/errors';
import { logger } from '../../lib/telemetry';

// The decision both adapters share once a write's reply is lost; the lookups themselves are tested
// against redis-server and dynalite (test/in-process/store-faults.test.ts).
const lost = () => new ReplyLostError('Redis did not answer within 100 ms', { cause: new Error('ETIMEDOUT') });

/** A lookup that answers (or fails) in turn as scripted, remembering when it was asked. */
function scripted(...answers: (Lookup | Error)[]) {
  const askedAt: number[] = [];
  const lookUp = async (): Promise<Lookup> => {
    askedAt.push(Date.now());
    const answer = answers.shift() ?? new Error('no more answers');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { lookUp, askedAt };
}

/** How settleLostWrite settled: its number, or its error's class, message and cause. */
const settled = (promise: Promise<number>) =>
  promise.then(
    (count) => ({ count }),
    (error: Error) => ({ error: error.constructor.name, message: error.message, cause: error.cause }),
  );

describe('Function: settleLostWrite', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns the number the record holds, and warns that a reply was lost', async () => {
    // Prepare
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => {});
    const { lookUp } = scripted({ found: 'applied', count: 7 });
    const now = Date.now();

    // Act
    const outcome = await settled(settleLostWrite(lost(), { store: 'Redis', lookUp, from: now, until: now + 100 }));

    // Assess
    expect(outcome).toEqual({ count: 7 });
    expect(warn.mock.calls).toEqual([
      ['Redis reply lost after the write was applied; answered from its record', { count: 7 }],
    ]);
  });

  it('throws an exact StoreUnavailableError, with the lost reply as cause, when the write was not applied', async () => {
    const error = lost();
    const { lookUp } = scripted({ found: 'not-applied' });
    const now = Date.now();
    expect(await settled(settleLostWrite(error, { store: 'Redis', lookUp, from: now, until: now + 100 }))).toEqual({
      error: 'StoreUnavailableError',
      message: 'Redis did not answer within 100 ms; the write was not applied, and now cannot be',
      cause: error.cause,
    });
  });

  it('throws an OutcomeUnknownError that says why when the record cannot tell', async () => {
    const { lookUp } = scripted({ found: 'unknown', reason: 'its record is gone' });
    const now = Date.now();
    const outcome = await settled(settleLostWrite(lost(), { store: 'Redis', lookUp, from: now, until: now + 100 }));
    expect(outcome).toEqual({
      error: 'OutcomeUnknownError',
      message: 'Redis did not answer within 100 ms, and its record is gone',
      cause: undefined,
    });
  });

  it('asks first at `from`, not before', async () => {
    const { lookUp, askedAt } = scripted({ found: 'not-applied' });
    const from = Date.now() + 60;
    await settled(settleLostWrite(lost(), { store: 'Redis', lookUp, from, until: from + 100 }));
    expect(askedAt).toHaveLength(1);
    expect(askedAt[0]).toBeGreaterThanOrEqual(from);
  });

  it("waits as long as the store's clock asks, then asks again", async () => {
    const { lookUp, askedAt } = scripted({ found: 'too-early', waitMs: 40 }, { found: 'applied', count: 3 });
    vi.spyOn(logger, 'warn').mockImplementation(() => {});
    const now = Date.now();
    expect(await settled(settleLostWrite(lost(), { store: 'Redis', lookUp, from: now, until: now + 1_000 }))).toEqual({
      count: 3,
    });
    expect((askedAt[1] ?? 0) - (askedAt[0] ?? 0)).toBeGreaterThanOrEqual(39);
  });

  it("gives up, unknown, when the store's clock is still early at `until`", async () => {
    const { lookUp, askedAt } = scripted({ found: 'too-early', waitMs: 80 }, { found: 'applied', count: 3 });
    const now = Date.now();
    const outcome = await settled(settleLostWrite(lost(), { store: 'Redis', lookUp, from: now, until: now + 50 }));
    expect(outcome).toMatchObject({
      error: 'OutcomeUnknownError',
      message: 'Redis did not answer within 100 ms, and so did asking whether the write was applied',
    });
    expect(askedAt).toHaveLength(1);
  });

  it('asks again, 50 ms apart, when a lookup fails', async () => {
    const { lookUp, askedAt } = scripted(new Error('ECONNREFUSED'), { found: 'not-applied' });
    const now = Date.now();
    const outcome = await settled(settleLostWrite(lost(), { store: 'Redis', lookUp, from: now, until: now + 1_000 }));
    expect(outcome).toMatchObject({ error: 'StoreUnavailableError' });
    expect(askedAt).toHaveLength(2);
    expect((askedAt[1] ?? 0) - (askedAt[0] ?? 0)).toBeGreaterThanOrEqual(49);
  });

  it('gives up, unknown, with the last failure as cause, once another pause would pass `until`', async () => {
    const failures = Array.from({ length: 10 }, (_, i) => new Error(`refused ${i + 1}`));
    const { lookUp, askedAt } = scripted(...failures);
    const now = Date.now();
    const outcome = await settled(settleLostWrite(lost(), { store: 'DynamoDB', lookUp, from: now, until: now + 175 }));
    expect(outcome).toMatchObject({
      error: 'OutcomeUnknownError',
      message: 'Redis did not answer within 100 ms, and so did asking whether the write was applied',
    });
    // Asked at about 0, 50, 100 and 150 ms (fewer on a busy machine): a further pause would end after `until`.
    expect(askedAt.length).toBeGreaterThanOrEqual(2);
    expect(askedAt.length).toBeLessThanOrEqual(4);
    expect((outcome as { cause?: Error }).cause?.message).toBe(`refused ${askedAt.length}`);
    expect(Date.now() - now).toBeLessThan(175 + 50);
  });
});

describe('Function: settleLostWrite, a lookup that never answers', () => {
  it('is given up at `until`, unknown, however long the lookup itself would wait', async () => {
    const now = Date.now();
    const lookUp = () => new Promise<Lookup>(() => {});
    const outcome = await settled(settleLostWrite(lost(), { store: 'Redis', lookUp, from: now, until: now + 100 }));
    expect(outcome).toMatchObject({
      error: 'OutcomeUnknownError',
      message: 'Redis did not answer within 100 ms, and so did asking whether the write was applied',
    });
    expect(Date.now() - now).toBeGreaterThanOrEqual(99);
    expect(Date.now() - now).toBeLessThan(100 + 150);
  });
});

describe('Function: hedged', () => {
  it('asks a second time when the first has not answered within its time, and takes the first answer', async () => {
    const askedAt: number[] = [];
    const answers = [new Promise<Lookup>(() => {}), Promise.resolve<Lookup>({ found: 'not-applied' })];
    const lookUp = hedged(() => {
      askedAt.push(Date.now());
      return answers.shift() as Promise<Lookup>;
    }, 40);
    const startedAt = Date.now();
    expect(await lookUp()).toEqual({ found: 'not-applied' });
    expect(askedAt).toHaveLength(2);
    expect((askedAt[1] ?? 0) - startedAt).toBeGreaterThanOrEqual(39);
  });

  it('fails when the first fails before the second is asked, and asks no second', async () => {
    let asked = 0;
    const lookUp = hedged(async () => {
      asked += 1;
      throw new Error('ECONNREFUSED');
    }, 40);
    await expect(lookUp()).rejects.toThrow('ECONNREFUSED');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(asked).toBe(1);
  });

  it('asks again every period while none has answered, at most `most` times in all', async () => {
    let asked = 0;
    const lookUp = hedged(
      () => {
        asked += 1;
        return asked < 3 ? new Promise<Lookup>(() => {}) : Promise.resolve<Lookup>({ found: 'not-applied' });
      },
      20,
      3,
    );
    expect(await lookUp()).toEqual({ found: 'not-applied' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(asked).toBe(3);
  });

  it('fails only when both have failed, with the last error', async () => {
    const lookUp = hedged(
      (() => {
        let call = 0;
        return () => {
          call += 1;
          const n = call;
          return new Promise<Lookup>((_, reject) =>
            setTimeout(() => reject(new Error(`failed ${n}`)), n === 1 ? 60 : 40),
          );
        };
      })(),
      30,
      2,
    );
    await expect(lookUp()).rejects.toThrow('failed 2');
  });
});

describe('Function: newWriteId', () => {
  it("never returns the same id twice, each starting with the process's own 11 characters", () => {
    const ids = Array.from({ length: 1_000 }, () => newWriteId());
    expect(new Set(ids).size).toBe(1_000);
    expect(new Set(ids.map((id) => id.slice(0, 11))).size).toBe(1);
  });
});
