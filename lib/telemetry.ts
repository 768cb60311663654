import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CounterStore } from './counter/counter-store';
import { StoreUnavailableError } from './errors';

/**
 * The one structured logger. Level from POWERTOOLS_LOG_LEVEL (serverless.yml maps LOG_LEVEL to
 * it); service name from POWERTOOLS_SERVICE_NAME (elecle-hello-<stage>).
 */
export const logger = new Logger();

/**
 * CloudWatch metrics in the embedded metric format: JSON lines on stdout that CloudWatch Logs
 * turns into metrics, so no AWS call is ever made. Off when POWERTOOLS_METRICS_DISABLED=true.
 */
export const metrics = new Metrics({ namespace: 'ElecleHello' });

/** Metric names; serverless.yml's alarms and dashboard use the same. */
export const METRIC = {
  windowsOpened: 'WindowsOpened',
  increments: 'Increments',
  expiredAnswers: 'ExpiredAnswers',
  storeFailures: 'StoreFailures',
  storeLatency: 'StoreLatency',
} as const;

export { MetricUnit };

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
