import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

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
