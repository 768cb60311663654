import { afterEach, describe, expect, it } from 'vitest';
import { smoke } from '../../tools/smoke-check';
import { type Fault, fakeService } from '../support/fake-service';

describe('Function: smoke (npm run smoke)', () => {
  let service: Awaited<ReturnType<typeof fakeService>> | undefined;
  const run = async (url: string, timeoutMs?: number) => {
    const lines: string[] = [];
    const failed = await smoke(url, (line) => lines.push(line), timeoutMs);
    return { failed, lines };
  };
  const withoutTime = (line: string) => line.replace(/ \(\d+ ms\)$/, '');

  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('passes a service that answers every step right, and says so step by step', async () => {
    service = await fakeService();
    const { failed, lines } = await run(service.baseUrl);
    expect(failed).toBe(0);
    expect(lines.map(withoutTime)).toEqual([
      'ok   GET /health -> 200 "ok"',
      'ok   GET /hello -> 200 "Hello ELECLE 1"',
      'ok   GET /hello/again -> 200 "Hello ELECLE 2"',
      'ok   GET /hello/again -> 200 "Hello ELECLE 3"',
      `smoke ${service.baseUrl}/: 4 passed, 0 failed`,
    ]);
  });

  it('keeps the stage of a base URL with or without a trailing slash', async () => {
    service = await fakeService(undefined, undefined, '/stage');
    expect((await run(`${service.baseUrl}/stage`)).failed).toBe(0);
    expect((await run(`${service.baseUrl}/stage/`)).failed).toBe(0);
  });

  it.each<[string, string, Fault, string]>([
    [
      'a wrong body',
      '/hello',
      { kind: 'body', value: 'Hello ELECLE 7' },
      'FAIL GET /hello: expected 200 "Hello ELECLE 1", got 200 "Hello ELECLE 7"',
    ],
    [
      'a wrong status',
      '/health',
      { kind: 'status', status: 503, body: 'Service Unavailable' },
      'FAIL GET /health: expected 200 "ok", got 503 "Service Unavailable"',
    ],
    [
      'a content type other than text/plain',
      '/hello',
      { kind: 'content-type', value: 'application/json' },
      'FAIL GET /hello: expected text/plain; charset=utf-8, got application/json',
    ],
    [
      'an answer a cache may keep',
      '/hello',
      { kind: 'no cache-control' },
      'FAIL GET /hello: expected Cache-Control: no-store',
    ],
  ])('fails a service that gives %s, naming the step and the problem', async (_, path, fault, line) => {
    service = await fakeService(path, fault);
    const { failed, lines } = await run(service.baseUrl);
    expect(failed).toBe(1);
    expect(lines.filter((entry) => entry.startsWith('FAIL')).map(withoutTime)).toEqual([line]);
    expect(lines.at(-1)).toBe(`smoke ${service.baseUrl}/: 3 passed, 1 failed`);
  });

  it('fails a step that gets no answer within its time limit', async () => {
    service = await fakeService('/health', { kind: 'never answers' });
    const startedAt = performance.now();
    const { failed, lines } = await run(service.baseUrl, 200);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    expect(failed).toBe(1);
    expect(lines[0]).toMatch(/^FAIL GET \/health: no answer: .*(timeout|aborted)/i);
  });
});
