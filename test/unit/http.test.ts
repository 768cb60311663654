import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, OutcomeUnknownError, ReplyLostError, StoreUnavailableError } from '../../lib/errors';
import { getRoute } from '../../lib/http';
import { logger } from '../../lib/telemetry';
import { captureOutput } from '../support/lambda-events';

const request = (method: string) => ({ requestContext: { http: { method } } }) as APIGatewayProxyEventV2;
const context = { functionName: 'elecle-hello-test-hello', awsRequestId: 'req-1', memoryLimitInMB: '1024' } as Context;
const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

/** Calls the handler once and returns its result and the JSON lines it logged. */
async function call(
  handler: ReturnType<typeof getRoute>,
  method = 'GET',
  event: { value: unknown } = { value: request(method) },
  level: 'INFO' | 'DEBUG' = 'INFO',
) {
  // Powertools writes ERROR lines to stderr, the others to stdout.
  const output = captureOutput();
  logger.setLogLevel(level);
  try {
    const result = await handler(event.value as APIGatewayProxyEventV2, context);
    return { result, logs: output.lines() };
  } finally {
    output.stop();
  }
}

const unavailable = (message: string) =>
  getRoute(async () => {
    throw new StoreUnavailableError(message, { cause: new Error('connect ECONNREFUSED') });
  });

afterEach(async () => {
  logger.setLogLevel('SILENT');
  // Ends any outage a test left open, so each test starts with the store available.
  await getRoute(async () => ({ outcome: 'counted', body: 'Hello ELECLE 2', count: 2 }))(request('GET'), context);
});

describe('Function: getRoute', () => {
  it('returns the body as text and logs one line with the outcome, count and duration', async () => {
    const { result, logs } = await call(
      getRoute(async () => ({ outcome: 'opened', body: 'Hello ELECLE 1', count: 1 })),
    );
    expect(result).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 1' });
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'request',
        outcome: 'opened',
        statusCode: 200,
        count: 1,
        durationMs: expect.any(Number),
        function_name: 'elecle-hello-test-hello',
        function_request_id: 'req-1',
        cold_start: expect.any(Boolean),
      }),
    ]);
  });

  it('returns 405 for other methods without calling the route, as outcome method-not-allowed', async () => {
    const respond = vi.fn();
    const { result, logs } = await call(getRoute(respond), 'HEAD');
    expect(result).toMatchObject({ statusCode: 405, headers: { allow: 'GET' } });
    expect(respond).not.toHaveBeenCalled();
    expect(logs).toEqual([expect.objectContaining({ outcome: 'method-not-allowed', statusCode: 405 })]);
  });

  it('returns 503 "Service Unavailable" for a store outage, and logs the error with its cause', async () => {
    const handler = getRoute(async () => {
      throw new StoreUnavailableError('Redis increment failed', { cause: new Error('connect ECONNREFUSED') });
    });
    const { result, logs } = await call(handler);
    expect(result).toEqual({
      statusCode: 503,
      headers: { ...TEXT_HEADERS, 'write-applied': 'no' },
      body: 'Service Unavailable',
    });
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        outcome: 'unavailable',
        statusCode: 503,
        error: expect.objectContaining({
          name: 'StoreUnavailableError',
          stack: expect.stringContaining('StoreUnavailableError'),
          cause: expect.objectContaining({ message: 'connect ECONNREFUSED' }),
        }),
      }),
    ]);
  });

  it('says on each 503 whether the write may have counted: Write-Applied unknown only for an unknown outcome', async () => {
    const cases = [
      [new StoreUnavailableError('refused'), 'no'],
      [new ReplyLostError('the reply of a read was lost'), 'no'],
      [new OutcomeUnknownError('reply lost, and so did asking'), 'unknown'],
    ] as const;
    for (const [error, applied] of cases) {
      const { result } = await call(
        getRoute(async () => {
          throw error;
        }),
      );
      expect({ status: result.statusCode, applied: result.headers?.['write-applied'] }).toEqual({
        status: 503,
        applied,
      });
    }
  });

  it('returns 500 "Internal Server Error" for anything else, without the error', async () => {
    for (const error of [new ConfigError('REDIS_URL', 'is required'), new TypeError('boom'), 'a string']) {
      const handler = getRoute(async () => {
        throw error;
      });
      const { result, logs } = await call(handler);
      expect(result).toEqual({ statusCode: 500, headers: TEXT_HEADERS, body: 'Internal Server Error' });
      expect(logs).toEqual([expect.objectContaining({ level: 'ERROR', outcome: 'failed', statusCode: 500 })]);
    }
  });

  it('logs the first failure of an outage whole, later ones without stacks, and the recovery once', async () => {
    const first = await call(unavailable('Redis did not answer within 500 ms'));
    const second = await call(unavailable('Redis connection not ready within 500 ms'));
    const recovered = await call(getRoute(async () => ({ outcome: 'counted', body: 'Hello ELECLE 2', count: 2 })));
    expect(first.logs[0]?.error).toEqual(expect.objectContaining({ stack: expect.any(String) }));
    expect(second.logs).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        outcome: 'unavailable',
        error: {
          name: 'StoreUnavailableError',
          message: 'Redis connection not ready within 500 ms',
          cause: 'connect ECONNREFUSED',
        },
      }),
    ]);
    expect(JSON.stringify(second.logs).length).toBeLessThan(600);
    expect(recovered.logs).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'store available again', failedRequests: 2 }),
      expect.objectContaining({ level: 'INFO', message: 'request', outcome: 'counted' }),
    ]);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['a string', 'GET /hello'],
    ['a request context without http', { requestContext: {} }],
    ['a method that is not a string', { requestContext: { http: { method: 42 } } }],
  ])('answers 400 "Bad Request" to %s, without calling the route or throwing', async (_name, event) => {
    const respond = vi.fn();
    const { result, logs } = await call(getRoute(respond), 'GET', { value: event });
    expect(result).toEqual({ statusCode: 400, headers: TEXT_HEADERS, body: 'Bad Request' });
    expect(respond).not.toHaveBeenCalled();
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        outcome: 'bad-request',
        statusCode: 400,
        error: 'not an API Gateway HTTP API event',
      }),
    ]);
  });

  it('answers 500 when something throws outside the route, here reading a broken Lambda context', async () => {
    const broken = {
      awsRequestId: 'req-2',
      get functionName(): string {
        throw new Error('unreadable context');
      },
    } as unknown as Context;
    const handler = getRoute(async () => ({ outcome: 'opened', body: 'Hello ELECLE 1', count: 1 }));
    expect(await handler(request('GET'), broken)).toEqual({
      statusCode: 500,
      headers: TEXT_HEADERS,
      body: 'Internal Server Error',
    });
  });

  it('answers a call with no Lambda context', async () => {
    const handler = getRoute(async () => ({ outcome: 'opened', body: 'Hello ELECLE 1', count: 1 }));
    expect(await handler(request('GET'))).toMatchObject({ statusCode: 200, body: 'Hello ELECLE 1' });
  });

  it('logs a healthy health check at DEBUG only', async () => {
    const { result, logs } = await call(getRoute(async () => ({ outcome: 'healthy', body: 'ok' })));
    expect(result.body).toBe('ok');
    expect(logs).toEqual([]);
    const debug = await call(
      getRoute(async () => ({ outcome: 'healthy', body: 'ok' })),
      'GET',
      undefined,
      'DEBUG',
    );
    expect(debug.logs).toEqual([
      expect.objectContaining({ level: 'DEBUG', message: 'request', outcome: 'healthy', statusCode: 200 }),
    ]);
  });

  it('writes nothing at INFO for a health check or a 405: no metrics, nor a warning that there are none', async () => {
    const output = captureOutput();
    logger.setLogLevel('INFO');
    try {
      // Act
      await getRoute(async () => ({ outcome: 'healthy', body: 'ok' }))(request('GET'), context);
      await getRoute(vi.fn())(request('HEAD'), context);
    } finally {
      output.stop();
    }
    // Assess: the 405's request line only
    expect(output.text().trim().split('\n')).toEqual([expect.stringContaining('"outcome":"method-not-allowed"')]);
  });

  it('logs the count only for answers that carry one', async () => {
    const { logs } = await call(getRoute(async () => ({ outcome: 'expired', body: 'Expired!' })));
    expect(logs).toHaveLength(1);
    expect(logs[0]).not.toHaveProperty('count');
  });
});
