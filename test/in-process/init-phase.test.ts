import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GetHandler } from '../../lib/http';
import { httpEvent, lambdaContext } from '../support/lambda-events';
import { type Stack, startStack } from '../support/stack';

// How long a cold start waits for its store, by the kind of initialisation (lib/service.ts), in
// this process: test/e2e/init-phase.test.ts runs the same through serverless-offline, out of reach
// of mutation testing. Each test imports the function afresh, so its init phase runs again.
describe("Lambda's init phase, in this process, with Redis refusing connections at first", () => {
  let stack: Stack<'redis'>;

  /** Imports GET /hello's function as a new instance would, and how long its init phase took. */
  const coldStart = async (initializationType: string): Promise<{ hello: GetHandler; ms: number }> => {
    vi.stubEnv('REDIS_URL', stack.env.REDIS_URL);
    vi.stubEnv('STORE_TIMEOUT_MS', '200');
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', initializationType);
    vi.resetModules();
    const startedAt = performance.now();
    const { handler } = await import('../../functions/hello');
    return { hello: handler, ms: performance.now() - startedAt };
  };

  const get = (handler: GetHandler) => handler(httpEvent('GET', '/hello'), lambdaContext());

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', proxy: true, offline: false });
  });

  afterEach(async () => {
    vi.unstubAllEnvs();
    await stack.heal();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('gives up after one attempt in an on-demand cold start (a request waits on it), and answers that request 503', async () => {
    stack.proxy.setNewConnections('refuse');
    const { hello, ms } = await coldStart('on-demand');
    expect(ms).toBeLessThan(1_000);
    expect(await get(hello)).toMatchObject({ statusCode: 503, body: 'Service Unavailable' });
  });

  it('tries again until the store answers when no request waits on it (provisioned concurrency), then counts', async () => {
    // Prepare: connections are refused for the first 600 ms of the init phase
    stack.proxy.setNewConnections('refuse');
    setTimeout(() => stack.proxy.heal(), 600);
    // Act
    const { hello, ms } = await coldStart('provisioned-concurrency');
    // Assess: the init phase lasted until Redis answered, within its 5 s of patience
    expect(ms).toBeGreaterThanOrEqual(550);
    expect(ms).toBeLessThan(5_000);
    expect(await get(hello)).toMatchObject({ statusCode: 200, body: 'Hello ELECLE 1' });
  });
});
