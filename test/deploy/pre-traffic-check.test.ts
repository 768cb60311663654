// The pre-traffic check (deploy/hooks/pre-traffic-check.ts) with the real AWS SDK clients, against a
// stand-in for the CodeDeploy and Lambda APIs on a local port (AWS_ENDPOINT_URL): what it reports to
// CodeDeploy when Lambda throttles the new version, as it does when live traffic holds the function's
// reserved concurrency (prod reserves 4 for health).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

interface StandIn {
  /** Invokes of the new version Lambda answers 429 TooManyRequestsException before it answers. */
  throttledInvokes: number;
  /** Invokes the new version never answers (a version that hangs until its own timeout, or longer). */
  hangingInvokes: boolean;
  invokes: number;
  reported: string[];
  /** Milliseconds from the hook's start to its report. */
  reportedAfterMs: number;
}
const standIn: StandIn = { throttledInvokes: 0, hangingInvokes: false, invokes: 0, reported: [], reportedAfterMs: 0 };
let started = 0;

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
    standIn.reportedAfterMs = Date.now() - started;
    return json(200, { lifecycleEventHookExecutionId: 'hook-1' });
  }
  if (request.url?.startsWith('/2015-03-31/functions/elecle-hello-prod-health/invocations')) {
    standIn.invokes += 1;
    if (standIn.hangingInvokes) return; // no answer, ever
    if (standIn.invokes <= standIn.throttledInvokes) {
      const reason = { message: 'Rate Exceeded.', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
      return json(429, reason, { 'x-amzn-errortype': 'TooManyRequestsException' });
    }
    return json(200, { statusCode: 200, body: 'ok' }, { 'x-amz-executed-version': '7' });
  }
  json(404, { message: `stand-in does not know ${request.method} ${request.url} ${target}` });
});

let handler: (
  event: { DeploymentId: string; LifecycleEventHookExecutionId: string },
  context?: { getRemainingTimeInMillis(): number },
) => Promise<void>;
let hook: typeof import('../../deploy/hooks/pre-traffic-check');

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
  hook = await import('../../deploy/hooks/pre-traffic-check');
  ({ handler } = hook);
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() =>
  Object.assign(standIn, { throttledInvokes: 0, hangingInvokes: false, invokes: 0, reported: [], reportedAfterMs: 0 }),
);

/** Runs the hook as Lambda would with `remainingMs` left of its timeout (the timeout itself if not given). */
const runHook = (remainingMs?: number) => {
  started = Date.now();
  const deadline = started + (remainingMs ?? 0);
  const context = remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => deadline - Date.now() };
  return handler({ DeploymentId: 'd-1', LifecycleEventHookExecutionId: 'hook-1' }, context);
};

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

  it("gives up on a version that stays throttled, and reports Failed within the hook's remaining time", async () => {
    standIn.throttledInvokes = Number.POSITIVE_INFINITY;
    await runHook(9_000);
    expect(standIn.reported).toEqual(['Failed']);
    expect(standIn.invokes).toBeGreaterThan(2); // it did retry
    // Kept back: the time to report.
    expect(standIn.reportedAfterMs).toBeLessThanOrEqual(9_000 - hook.REPORT_RESERVE_MS + 1_500);
  }, 30_000);

  it("reports Failed within the hook's remaining time when the new version never answers", async () => {
    standIn.hangingInvokes = true;
    await runHook(8_000);
    expect(standIn).toMatchObject({ invokes: 1, reported: ['Failed'] });
    expect(standIn.reportedAfterMs).toBeLessThanOrEqual(8_000 - hook.REPORT_RESERVE_MS + 1_500);
  }, 30_000);

  it("bounds itself by the hook's configured timeout when no context says what is left", () => {
    const definition = readFileSync(
      fileURLToPath(new URL('../../deploy/hooks/pre-traffic-check.yml', import.meta.url)),
      'utf8',
    );
    const timeout = Number(/^\s+timeout: (\d+)$/m.exec(definition)?.[1]);
    expect(timeout * 1_000).toBe(hook.HOOK_TIMEOUT_MS);
    expect(hook.REPORT_RESERVE_MS).toBeLessThan(hook.HOOK_TIMEOUT_MS / 2);
  });
});
