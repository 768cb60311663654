import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { withinDeadline } from '../../lib/counter/deadline';

const timedOut = () => new Error('timed out');

/** How a promise settled: its value, or its error's message. */
const settled = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ value }),
    (error: Error) => ({ error: error.message }),
  );

describe('Function: withinDeadline', () => {
  it('resolves with the work when it finishes in time', async () => {
    expect(
      await settled(
        withinDeadline(
          sleep(5).then(() => 'done'),
          200,
          timedOut,
        ),
      ),
    ).toEqual({ value: 'done' });
  });

  it("rejects with the work's own error when it fails in time", async () => {
    const work = sleep(5).then(() => Promise.reject(new Error('refused')));
    expect(await settled(withinDeadline(work, 200, timedOut))).toEqual({ error: 'refused' });
  });

  it('rejects with the timeout error once the time has passed, not before', async () => {
    const startedAt = performance.now();
    const outcome = await settled(withinDeadline(new Promise(() => {}), 50, timedOut));
    expect(outcome).toEqual({ error: 'timed out' });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(49);
  });

  it('keeps the first outcome: work that finishes after the timeout changes nothing', async () => {
    let finish: (value: string) => void = () => {};
    const outcome = settled(withinDeadline(new Promise<string>((resolve) => (finish = resolve)), 20, timedOut));
    await sleep(40);
    finish('late');
    expect(await outcome).toEqual({ error: 'timed out' });
  });

  it('calls onTimeout once, and never after the work finished', async () => {
    let calls = 0;
    const onTimeout = () => {
      calls += 1;
      return timedOut();
    };
    await withinDeadline(sleep(5), 20, onTimeout);
    await sleep(40);
    expect(calls).toBe(0);
    await settled(withinDeadline(new Promise(() => {}), 20, onTimeout));
    await sleep(40);
    expect(calls).toBe(1);
  });

  it.each([
    ['finishes', (settle: { resolve: (value: string) => void }) => settle.resolve('answered'), { value: 'answered' }],
    [
      'fails',
      (settle: { reject: (error: Error) => void }) => settle.reject(new Error('refused')),
      { error: 'refused' },
    ],
  ] as const)(
    'lets work that %s after the timer fired, but before the timeout is decided, win without calling onTimeout',
    async (_, finish, expected) => {
      // Prepare: the work settles the moment the deadline's timer has fired and asked for the
      // decision (setImmediate), before the decision runs, as a reply read in that turn's poll phase
      // would. (Two 20 ms timers, one for each, were not always due in the same turn.)
      let calls = 0;
      const settle = { resolve: (_value: string) => {}, reject: (_error: Error) => {} };
      const work = new Promise<string>((resolve, reject) => Object.assign(settle, { resolve, reject }));
      const realSetImmediate = globalThis.setImmediate;
      const spy = vi.spyOn(globalThis, 'setImmediate').mockImplementation(((callback: () => void) => {
        finish(settle as never);
        return realSetImmediate(callback);
      }) as typeof setImmediate);
      try {
        const outcome = settled(
          withinDeadline(work, 20, () => {
            calls += 1;
            return timedOut();
          }),
        );
        // Act, Assess
        expect(await outcome).toEqual(expected);
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
      await sleep(10);
      expect(calls).toBe(0);
    },
  );

  it('waits firstMs first (what is left of work begun earlier), and a full period after progress', async () => {
    let steps = 0;
    const startedAt = performance.now();
    const early = await settled(withinDeadline(new Promise(() => {}), 200, timedOut, () => steps, 30));
    expect(early).toEqual({ error: 'timed out' });
    expect(performance.now() - startedAt).toBeLessThan(150);
    const moving = settled(withinDeadline(new Promise(() => {}), 100, timedOut, () => steps, 20));
    await sleep(10);
    steps += 1; // progress before the first wait ends: another 100 ms
    const outcome = await moving;
    expect(outcome).toEqual({ error: 'timed out' });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(100);
  });

  it('gives a wait that made progress another period, and times it out once progress stops', async () => {
    // Prepare: progress for 3 periods, then none
    let steps = 0;
    const ticker = setInterval(() => {
      if (steps < 3) steps += 1;
    }, 15);
    const startedAt = performance.now();
    // Act
    const outcome = await settled(withinDeadline(new Promise(() => {}), 30, timedOut, () => steps));
    clearInterval(ticker);
    // Assess: not at the first 30 ms, since steps were made; at most a few periods after the last
    expect(outcome).toEqual({ error: 'timed out' });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(59);
  });

  it('answers with the work when a reply that arrived before the timer is read after it (a busy event loop)', async () => {
    // The timer is due while a synchronous block holds the loop; the reply is already waiting.
    const reply = new Promise<string>((resolve) => setTimeout(() => resolve('answered'), 10));
    const outcome = settled(withinDeadline(reply, 15, timedOut));
    const blockedUntil = Date.now() + 40;
    while (Date.now() < blockedUntil) {
      // busy
    }
    expect(await outcome).toEqual({ value: 'answered' });
  });
});
