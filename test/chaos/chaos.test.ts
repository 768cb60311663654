import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos';

// The short version of `npm run chaos`; the seed varies, and a failure prints it to rerun with.
const seed = Date.now() % 1_000_000;

describe.each([
  ['redis', 15],
  ['dynamodb', 10],
] as const)('Chaos: load with random faults against %s keeps the counting contract', (store, seconds) => {
  it(`finds no anomaly in ${seconds} s of history (seed ${seed})`, { timeout: (seconds + 60) * 1000 }, async () => {
    const result = await runChaos({ store, seconds, seed });
    expect(result.anomalies).toEqual([]);
    // The run must have tested something: load, faults that bit, and expiry checks that answered.
    // (20 a second is a floor a loaded laptop clears; an idle one does well over 100.)
    expect(result.operations).toBeGreaterThan(20 * seconds);
    expect(Object.values(result.faults).reduce((total, count) => total + count, 0)).toBeGreaterThanOrEqual(3);
    expect(result.unavailable).toBeGreaterThan(0);
    expect(result.expiryChecks).toBeGreaterThan(10);
  });
});
