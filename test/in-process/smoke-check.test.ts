import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { smoke } from '../../tools/smoke-check';

const RIGHT: Record<string, string> = {
  '/health': 'ok',
  '/hello': 'Hello ELECLE 1',
  '/hello/again': 'Hello ELECLE 2',
};

type Answer = { status?: number; body?: string; headers?: Record<string, string> } | 'silent';

/** A server that answers each path as the service would, except where `answer` says otherwise. */
async function serve(answer: (path: string, nth: number) => Answer | undefined = () => undefined): Promise<Server> {
  let againCount = 0;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').replace(/^\/stage/, '');
    if (path === '/hello') againCount = 0;
    if (path === '/hello/again') againCount += 1;
    const override = answer(path, againCount);
    if (override === 'silent') return;
    const body = path === '/hello/again' ? `Hello ELECLE ${againCount + 1}` : (RIGHT[path] ?? 'Not Found');
    response.writeHead(override?.status ?? (RIGHT[path] ? 200 : 404), {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      ...override?.headers,
    });
    response.end(override?.body ?? body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('Function: smoke (npm run smoke)', () => {
  let server: Server | undefined;
  const base = () => `http://127.0.0.1:${(server?.address() as AddressInfo | undefined)?.port}`;
  const run = async (url = base(), timeoutMs?: number) => {
    const lines: string[] = [];
    const failed = await smoke(url, (line) => lines.push(line), timeoutMs);
    return { failed, lines };
  };

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('passes a service that answers every step right, and says so step by step', async () => {
    server = await serve();
    const { failed, lines } = await run();
    expect(failed).toBe(0);
    expect(lines.map((line) => line.replace(/ \(\d+ ms\)$/, ''))).toEqual([
      'ok   GET /health -> 200 "ok"',
      'ok   GET /hello -> 200 "Hello ELECLE 1"',
      'ok   GET /hello/again -> 200 "Hello ELECLE 2"',
      'ok   GET /hello/again -> 200 "Hello ELECLE 3"',
      `smoke ${base()}/: 4 passed, 0 failed`,
    ]);
  });

  it('keeps the stage of a base URL with or without a trailing slash', async () => {
    server = await serve();
    expect((await run(`${base()}/stage`)).failed).toBe(0);
    expect((await run(`${base()}/stage/`)).failed).toBe(0);
  });

  it.each([
    [
      'a wrong body',
      (path: string) => (path === '/hello' ? { body: 'Hello ELECLE 7' } : undefined),
      'FAIL GET /hello: expected 200 "Hello ELECLE 1", got 200 "Hello ELECLE 7"',
    ],
    [
      'a wrong status',
      (path: string) => (path === '/health' ? { status: 503, body: 'Service Unavailable' } : undefined),
      'FAIL GET /health: expected 200 "ok", got 503 "Service Unavailable"',
    ],
    [
      'a content type other than text/plain',
      (path: string) => (path === '/hello' ? { headers: { 'content-type': 'application/json' } } : undefined),
      'FAIL GET /hello: expected text/plain; charset=utf-8, got application/json',
    ],
    [
      'an answer a cache may keep',
      (path: string) => (path === '/hello' ? { headers: { 'cache-control': 'max-age=60' } } : undefined),
      'FAIL GET /hello: expected Cache-Control: no-store',
    ],
  ])('fails a service that gives %s, naming the step and the problem', async (_, answer, line) => {
    server = await serve(answer);
    const { failed, lines } = await run();
    expect(failed).toBe(1);
    expect(lines.filter((entry) => entry.startsWith('FAIL')).map((entry) => entry.replace(/ \(\d+ ms\)$/, ''))).toEqual(
      [line],
    );
    expect(lines.at(-1)).toBe(`smoke ${base()}/: 3 passed, 1 failed`);
  });

  it('fails a step that gets no answer within its time limit', async () => {
    server = await serve((path) => (path === '/health' ? 'silent' : undefined));
    const startedAt = performance.now();
    const { failed, lines } = await run(base(), 200);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    expect(failed).toBe(1);
    expect(lines[0]).toMatch(/^FAIL GET \/health: no answer: .*(timeout|aborted)/i);
  });
});
