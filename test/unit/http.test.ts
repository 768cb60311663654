import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ConfigError, StoreUnavailableError } from '../../lib/errors';
import { getRoute, text } from '../../lib/http';

const request = (method: string) => ({ requestContext: { http: { method } } }) as APIGatewayProxyEventV2;
const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

describe('Function: getRoute', () => {
  it('returns the route answer for GET', async () => {
    const handler = getRoute(async () => text(200, 'Hello ELECLE 1'));
    expect(await handler(request('GET'))).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 1' });
  });

  it('returns 405 without calling the route for other methods', async () => {
    let called = false;
    const handler = getRoute(async () => {
      called = true;
      return text(200, 'counted');
    });
    const result = await handler(request('HEAD'));
    expect(result).toMatchObject({ statusCode: 405, headers: { allow: 'GET' } });
    expect(called).toBe(false);
  });

  it('returns 503 "Service Unavailable" for a store outage, without the error', async () => {
    const handler = getRoute(async () => {
      throw new StoreUnavailableError('Redis increment failed', { cause: new Error('connect ECONNREFUSED') });
    });
    expect(await handler(request('GET'))).toEqual({
      statusCode: 503,
      headers: TEXT_HEADERS,
      body: 'Service Unavailable',
    });
  });

  it('returns 500 "Internal Server Error" for anything else, without the error', async () => {
    for (const error of [new ConfigError('REDIS_URL', 'is required'), new TypeError('boom'), 'a string']) {
      const handler = getRoute(async () => {
        throw error;
      });
      expect(await handler(request('GET'))).toEqual({
        statusCode: 500,
        headers: TEXT_HEADERS,
        body: 'Internal Server Error',
      });
    }
  });
});
