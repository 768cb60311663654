import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** The parts of an API Gateway HTTP API (payload 2.0) event the handlers read. */
export function httpEvent(method: string, path: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: 'offline',
      apiId: 'in-process',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'request',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

let invocations = 0;

/** A Lambda context with its own request id. */
export function lambdaContext(functionName = 'hello'): Context {
  invocations += 1;
  const awsRequestId = `in-process-${invocations}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'in-process',
    getRemainingTimeInMillis: () => 5_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * Every JSON line written to stdout and stderr until `stop()`, kept from the terminal: Powertools
 * logs INFO and below to stdout, WARN and above to stderr, and its metrics to stdout.
 */
export function captureOutput(): {
  lines: () => Record<string, unknown>[];
  text: () => string;
  clear: () => void;
  stop: () => void;
} {
  const written: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  return {
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    /** Everything written, JSON or not. */
    text: () => written.join(''),
    clear: () => {
      written.length = 0;
    },
    stop: () => {
      streams.forEach((stream, i) => {
        stream.write = originals[i] as typeof stream.write;
      });
    },
  };
}
