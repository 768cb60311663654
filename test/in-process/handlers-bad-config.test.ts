import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GetHandler } from '../../lib/http';
import { captureOutput, httpEvent, lambdaContext } from '../support/lambda-events';

// A function instance whose configuration is wrong: it starts (Lambda would retry a crash on every
// request), logs why once, and answers every request 500 without saying why to the client.
describe('Handlers, in this process, with a wrong configuration value', () => {
  let hello: GetHandler;
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    vi.stubEnv('HELLO_WINDOW_SECONDS', 'thirty');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    output = captureOutput();
    ({ handler: hello } = await import('../../functions/hello'));
  });

  afterAll(() => {
    output?.stop();
    vi.unstubAllEnvs();
  });

  it('answers every request 500 "Internal Server Error", and logs the variable once at cold start', async () => {
    for (let i = 0; i < 2; i += 1) {
      expect(await hello(httpEvent('GET', '/hello'), lambdaContext())).toEqual({
        statusCode: 500,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        body: 'Internal Server Error',
      });
    }
    const startup = output.lines().filter((line) => line.message === 'cannot start: invalid configuration');
    expect(startup).toHaveLength(1);
    expect(startup[0]?.error).toMatchObject({
      name: 'ConfigError',
      message: 'HELLO_WINDOW_SECONDS must be a number from 0.001 to 86400 (got "thirty")',
    });
  });
});
