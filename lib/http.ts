import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { OutcomeUnknownError, StoreUnavailableError } from './errors';
import { logger, METRIC, MetricUnit, metrics } from './telemetry';

export type TextResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };
export type GetHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<TextResult>;

/** What a request came to, as its log line and metrics name it. */
export type Outcome =
  | 'opened'
  | 'counted'
  | 'expired'
  | 'healthy'
  | 'unavailable'
  | 'method-not-allowed'
  | 'bad-request'
  | 'failed';

/** A route's answer: the body of a 200, and what it means. */
export interface RouteAnswer {
  outcome: Outcome;
  body: string;
  count?: number;
}

interface Answer {
  result: TextResult;
  outcome: Outcome;
  count?: number;
  error?: unknown;
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

/**
 * Keeps the log readable through a store outage: the first failed request logs its whole error
 * (stack and cause), the ones after it only the messages, and the first success after it says how
 * many failed. Other errors are always logged whole.
 */
class OutageLog {
  #failedRequests = 0;
  #since = 0;

  /** The error as the request's log line should carry it. */
  describe(error: unknown): unknown {
    if (!(error instanceof StoreUnavailableError)) return error;
    this.#failedRequests += 1;
    if (this.#failedRequests === 1) {
      this.#since = Date.now();
      return error;
    }
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    return { name: error.name, message: error.message, ...(cause ? { cause } : {}) };
  }

  /** Called after a request the store answered. */
  recovered(): void {
    if (this.#failedRequests === 0) return;
    logger.info('store available again', { failedRequests: this.#failedRequests, outageMs: Date.now() - this.#since });
    this.#failedRequests = 0;
  }
}

/** One per function instance: an outage is seen by every route of it. */
const outageLog = new OutageLog();

/**
 * On every 503: whether the request may have counted. `no`: nothing was counted, and nothing will
 * be; a retry is safe. `unknown`: the store may have applied the write (its reply was lost, and the
 * service could not find out); a retry may count twice.
 */
export const WRITE_APPLIED = 'write-applied';

export function writeApplied(error: StoreUnavailableError): 'no' | 'unknown' {
  return error instanceof OutcomeUnknownError ? 'unknown' : 'no';
}

export function text(statusCode: number, body: string, headers: Record<string, string> = {}): TextResult {
  return { statusCode, headers: { ...TEXT_HEADERS, ...headers }, body };
}

/**
 * Wraps a route that only answers GET. Each request ends in one log line (outcome, status, count,
 * duration; the error when one occurred) and its metrics. It answers every event, malformed ones
 * included, and never throws: serverless-offline would turn a thrown error into a 200 with the
 * stack trace, where API Gateway answers 500.
 */
export function getRoute(respond: () => Promise<RouteAnswer>): GetHandler {
  return async (event, context) => {
    const startedAt = performance.now();
    let answer: Answer;
    try {
      if (isContext(context)) logger.addContext(context);
      answer = await answerEvent(event, respond);
    } catch (error) {
      answer = { result: text(500, 'Internal Server Error'), outcome: 'failed', error };
    }
    record(answer, performance.now() - startedAt);
    return answer.result;
  };
}

async function answerEvent(event: unknown, respond: () => Promise<RouteAnswer>): Promise<Answer> {
  const method = methodOf(event);
  if (method === undefined) {
    return { result: text(400, 'Bad Request'), outcome: 'bad-request', error: 'not an API Gateway HTTP API event' };
  }
  // Guards against HEAD, which a local HTTP server may route to a GET handler: it must not count.
  if (method !== 'GET') {
    return { result: text(405, 'Method Not Allowed', { allow: 'GET' }), outcome: 'method-not-allowed' };
  }
  try {
    const { outcome, body, count } = await respond();
    outageLog.recovered();
    return { result: text(200, body), outcome, ...(count === undefined ? {} : { count }) };
  } catch (error) {
    // The client gets a status and its plain name; the log gets the error.
    if (error instanceof StoreUnavailableError) {
      return {
        result: text(503, 'Service Unavailable', { [WRITE_APPLIED]: writeApplied(error) }),
        outcome: 'unavailable',
        error,
      };
    }
    return { result: text(500, 'Internal Server Error'), outcome: 'failed', error };
  }
}

function record({ result, outcome, count, error }: Answer, durationMs: number): void {
  try {
    const metric = OUTCOME_METRICS[outcome];
    if (metric) metrics.addMetric(metric, MetricUnit.Count, 1);
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    const line = {
      outcome,
      statusCode: result.statusCode,
      ...(count === undefined ? {} : { count }),
      durationMs: Math.round(durationMs * 100) / 100,
    };
    if (error !== undefined) logger.error('request failed', { ...line, error: outageLog.describe(error) });
    else if (outcome === 'healthy')
      logger.debug('request', line); // a health check every few seconds is noise
    else logger.info('request', line);
  } catch {
    // Telemetry must never turn an answer into a crash.
  }
}

function methodOf(event: unknown): string | undefined {
  const method = (event as { requestContext?: { http?: { method?: unknown } } } | null | undefined)?.requestContext
    ?.http?.method;
  return typeof method === 'string' ? method : undefined;
}

function isContext(context: unknown): context is Context {
  return typeof context === 'object' && context !== null && 'awsRequestId' in context;
}
