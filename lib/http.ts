import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { StoreUnavailableError } from './errors';
import { logger } from './logger';

export type TextResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };
export type GetHandler = (event: APIGatewayProxyEventV2) => Promise<TextResult>;

const TEXT_HEADERS = {
  'content-type': 'text/plain; charset=utf-8',
  // Every answer depends on when it is asked: no browser or proxy may replay one.
  'cache-control': 'no-store',
};

export function text(statusCode: number, body: string, headers: Record<string, string> = {}): TextResult {
  return { statusCode, headers: { ...TEXT_HEADERS, ...headers }, body };
}

/** Logs the whole error; the client gets only a status and its plain name. */
export function failure(error: unknown): TextResult {
  if (error instanceof StoreUnavailableError) {
    logger.error('counter store unavailable', { error });
    return text(503, 'Service Unavailable');
  }
  logger.error('request failed', { error });
  return text(500, 'Internal Server Error');
}

/**
 * Wraps a route that only answers GET. It never throws: serverless-offline would turn a thrown
 * error into a 200 with the stack trace, where API Gateway answers 500.
 */
export function getRoute(respond: () => Promise<TextResult>): GetHandler {
  return async (event) => {
    // Guards against HEAD, which a local HTTP server may route to a GET handler: it must not count.
    if (event.requestContext.http.method !== 'GET') {
      return text(405, 'Method Not Allowed', { allow: 'GET' });
    }
    try {
      return await respond();
    } catch (error) {
      return failure(error);
    }
  };
}
