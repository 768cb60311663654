// The pre-traffic check (deploy/hooks/pre-traffic-check.ts) with the real AWS SDK clients, against a
// stand-in for the CodeDeploy and Lambda APIs on a local port (AWS_ENDPOINT_URL): what it reports to
// CodeDeploy when Lambda throttles the new version, as it does when live traffic holds the function's
// reserved concurrency (prod reserves 4 for health).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

interface StandIn {
  /** Invokes of the new version Lambda answers 429 TooManyRequestsException before it answers. */
  throttledInvokes: number;
  invokes: number;
  reported: string[];
}
const standIn: StandIn = { throttledInvokes: 0, invokes: 0, reported: [] };

const body = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** CodeDeploy (JSON 1.1, X-Amz-Target) and Lambda Invoke (REST), as far as the hook uses them. */
const server: Server = createServer(async (request, response) => {
  const text = await body(request);
  const json = (status: number, value: object, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(value));
  };
  const target = String(request.headers['x-amz-target'] ?? '');
  if (target.endsWith('.ListDeploymentTargets')) return json(200, { targetIds: ['elecle-hello-prod-health'] });
  if (target.endsWith('.GetDeploymentTarget')) {
    const info = { functionName: 'elecle-hello-prod-health', targetVersion: '7' };
    return json(200, { deploymentTarget: { lambdaTarget: { lambdaFunctionInfo: info } } });
  }
  if (target.endsWith('.PutLifecycleEventHookExecutionStatus')) {
    standIn.reported.push((JSON.parse(text) as { status: string }).status);
    return json(200, { lifecycleEventHookExecutionId: 'hook-1' });
  }
  if (request.url?.startsWith('/2015-03-31/functions/elecle-hello-prod-health/invocations')) {
    standIn.invokes += 1;
    if (standIn.invokes <= standIn.throttledInvokes) {
      const reason = { message: 'Rate Exceeded.', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
      return json(429, reason, { 'x-amzn-errortype': 'TooManyRequestsException' });
    }
    return json(200, { statusCode: 200, body: 'ok' }, { 'x-amz-executed-version': '7' });
  }
  json(404, { message: `stand-in does not know ${request.method} ${request.url} ${target}` });
});

let handler: (event: { DeploymentId: string; LifecycleEventHookExecutionId: string }) => Promise<void>;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  ({ handler } = await import('../../deploy/hooks/pre-traffic-check'));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => Object.assign(standIn, { throttledInvokes: 0, invokes: 0, reported: [] }));

const runHook = () => handler({ DeploymentId: 'd-1', LifecycleEventHookExecutionId: 'hook-1' });

describe('Pre-traffic check: a throttled new version', () => {
  it('reports Succeeded when the new version answers right away', async () => {
    await runHook();
    expect(standIn).toMatchObject({ invokes: 1, reported: ['Succeeded'] });
  });

  it('reports Succeeded when live traffic holds the reservation for a few seconds, longer than the SDK retries', async () => {
    // The SDK makes 3 attempts over ~1.5 s; 5 throttled answers outlast them.
    standIn.throttledInvokes = 5;
    await runHook();
    expect(standIn).toMatchObject({ invokes: 6, reported: ['Succeeded'] });
  });

  it('still reports Failed when the version stays throttled past the retry window', async () => {
    standIn.throttledInvokes = Number.POSITIVE_INFINITY;
    const { THROTTLE_RETRY_MS } = await import('../../deploy/hooks/pre-traffic-check');
    const started = Date.now();
    await runHook();
    expect(standIn.reported).toEqual(['Failed']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(THROTTLE_RETRY_MS - 2_000);
    expect(Date.now() - started).toBeLessThan(28_000); // inside the hook's 30 s timeout, with room to report
  }, 40_000);
});
