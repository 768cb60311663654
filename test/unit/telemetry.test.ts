import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../../lib/errors';
import { instrumented, metrics } from '../../lib/telemetry';

/** The metrics a call recorded, by name. */
function recording() {
  const spy = vi.spyOn(metrics, 'addMetric');
  return () => spy.mock.calls.map(([name, , value]) => ({ name, value }));
}

describe('Function: instrumented', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("records each call's latency, and passes its answer on", async () => {
    const recorded = recording();
    const store = instrumented({
      start: async () => 1,
      increment: () => new Promise((resolve) => setTimeout(() => resolve(7), 20)),
      ping: async () => {},
    });
    const startedAt = performance.now();
    expect(await store.increment('key')).toBe(7);
    const elapsedMs = performance.now() - startedAt;
    const [latency] = recorded();
    expect(latency?.name).toBe('StoreLatency');
    expect(latency?.value).toBeGreaterThanOrEqual(19);
    expect(latency?.value).toBeLessThanOrEqual(elapsedMs);
  });

  it('counts a store outage as a StoreFailure, and any other error not', async () => {
    const failing = (error: Error) =>
      instrumented({
        start: async () => {
          throw error;
        },
        increment: async () => null,
        ping: async () => {},
      });
    const recorded = recording();
    await expect(failing(new StoreUnavailableError('down')).start('key', 1)).rejects.toThrow('down');
    await expect(failing(new TypeError('bug')).start('key', 1)).rejects.toThrow('bug');
    expect(recorded().map((metric) => metric.name)).toEqual(['StoreFailures', 'StoreLatency', 'StoreLatency']);
  });
});
