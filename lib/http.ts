import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { StoreUnavailableError } from './errors';
import { logger, METRIC, MetricUnit, metrics } from './telemetry';

export type TextResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };
export type GetHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<TextResult>;

/** What a request came to, as its log line and metrics name it. */
export type Outcome = 'opened' | 'counted' | 'expired' | 'healthy' | 'unavailable' | 'not-found' | 'failed';

/** A route's answer: the body of a 200, and what it means. */
export interface RouteAnswer {
  outcome: Outcome;
  body: string;
  count?: number;
}

const TEXT_HEADERS = {
  'content-type': 'text/plain; charset=utf-8',
  // Every answer depends on when it is asked: no browser or proxy may replay one.
  'cache-control': 'no-store',
};

const OUTCOME_METRICS: Partial<Record<Outcome, string>> = {
  opened: METRIC.windowsOpened,
  counted: METRIC.increments,
  expired: METRIC.expiredAnswers,
};

export function text(statusCode: number, body: string, headers: Record<string, string> = {}): TextResult {
  return { statusCode, headers: { ...TEXT_HEADERS, ...headers }, body };
}

/**
 * Wraps a route that only answers GET. Each request ends in one log line (outcome, status, count,
 * duration; the whole error when one occurred) and its metrics. It never throws: serverless-offline
 * would turn a thrown error into a 200 with the stack trace, where API Gateway answers 500.
 */
export function getRoute(respond: () => Promise<RouteAnswer>): GetHandler {
  return async (event, context) => {
    const startedAt = performance.now();
    if (context) logger.addContext(context);
    const { result, outcome, count, error } = await answer(event, respond);
    const metric = OUTCOME_METRICS[outcome];
    if (metric) metrics.addMetric(metric, MetricUnit.Count, 1);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    const line = {
      outcome,
      statusCode: result.statusCode,
      ...(count === undefined ? {} : { count }),
      durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
    };
    if (error !== undefined) logger.error('request failed', { ...line, error });
    else if (outcome === 'healthy')
      logger.debug('request', line); // a health check every few seconds is noise
    else logger.info('request', line);
    return result;
  };
}

async function answer(
  event: APIGatewayProxyEventV2,
  respond: () => Promise<RouteAnswer>,
): Promise<{ result: TextResult; outcome: Outcome; count?: number; error?: unknown }> {
  // Guards against HEAD, which a local HTTP server may route to a GET handler: it must not count.
  if (event.requestContext.http.method !== 'GET') {
    return { result: text(405, 'Method Not Allowed', { allow: 'GET' }), outcome: 'not-found' };
  }
  try {
    const { outcome, body, count } = await respond();
    return { result: text(200, body), outcome, ...(count === undefined ? {} : { count }) };
  } catch (error) {
    // The client gets a status and its plain name; the log gets the error with stack and cause.
    if (error instanceof StoreUnavailableError) {
      return { result: text(503, 'Service Unavailable'), outcome: 'unavailable', error };
    }
    return { result: text(500, 'Internal Server Error'), outcome: 'failed', error };
  }
}
