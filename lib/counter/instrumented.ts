import { StoreUnavailableError } from '../errors';
import { METRIC, MetricUnit, metrics } from '../telemetry';
import type { CounterStore } from './counter-store';

/** Wraps a store to record each call's latency and each outage as metrics. */
export function instrumented(store: CounterStore): CounterStore {
  return {
    start: (key, windowMs) => measure(() => store.start(key, windowMs)),
    increment: (key) => measure(() => store.increment(key)),
    ping: () => measure(() => store.ping()),
  };
}

async function measure<T>(call: () => Promise<T>): Promise<T> {
  const startedAt = performance.now();
  try {
    return await call();
  } catch (error) {
    if (error instanceof StoreUnavailableError) metrics.addMetric(METRIC.storeFailures, MetricUnit.Count, 1);
    throw error;
  } finally {
    metrics.addMetric(METRIC.storeLatency, MetricUnit.Milliseconds, performance.now() - startedAt);
  }
}
