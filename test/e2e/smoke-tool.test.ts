import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeService } from '../support/fake-service';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run smoke -- <baseUrl>` as a person or CI runs it: its exit code and the lines it printed. */
async function smoke(baseUrl: string): Promise<{ code: number; lines: string[] }> {
  const { code, stdout } = await run('npm', ['run', '--silent', 'smoke', '--', baseUrl], { cwd: ROOT }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => error,
  );
  return { code, lines: stdout.trim().split('\n') };
}

/** A line the tool prints for a step, whatever the step took. */
const step = (text: string) =>
  expect.stringMatching(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ ms\\)$`));
const OK = [
  step('ok   GET /health -> 200 "ok"'),
  step('ok   GET /hello -> 200 "Hello ELECLE 1"'),
  step('ok   GET /hello/again -> 200 "Hello ELECLE 2"'),
  step('ok   GET /hello/again -> 200 "Hello ELECLE 3"'),
] as const;
const summary = (passed: number) => expect.stringMatching(new RegExp(`: ${passed} passed, ${4 - passed} failed$`));

// The smoke test against the real service, passing and failing, is in test/e2e/operations.test.ts.
describe('Smoke tool: npm run smoke against a service that answers wrongly', () => {
  let service: Awaited<ReturnType<typeof fakeService>> | undefined;

  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('exits 0 with "4 passed" against the stand-in when nothing is wrong, so the failures below are its faults', async () => {
    service = await fakeService();
    expect(await smoke(service.baseUrl)).toEqual({ code: 0, lines: [...OK, summary(4)] });
  });

  it('exits 1 and names the content type when /hello answers the right body as text/html', async () => {
    service = await fakeService('/hello', { kind: 'content-type', value: 'text/html; charset=utf-8' });
    expect(await smoke(service.baseUrl)).toEqual({
      code: 1,
      lines: [
        OK[0],
        step('FAIL GET /hello: expected text/plain; charset=utf-8, got text/html; charset=utf-8'),
        OK[2],
        OK[3],
        summary(3),
      ],
    });
  });

  it('exits 1 and names Cache-Control when /health answers without "no-store"', async () => {
    service = await fakeService('/health', { kind: 'no cache-control' });
    expect(await smoke(service.baseUrl)).toEqual({
      code: 1,
      lines: [step('FAIL GET /health: expected Cache-Control: no-store'), OK[1], OK[2], OK[3], summary(3)],
    });
  });

  it('exits 1 and shows expected and actual body when /hello/again answers "Expired!"', async () => {
    service = await fakeService('/hello/again', { kind: 'body', value: 'Expired!' });
    expect(await smoke(service.baseUrl)).toEqual({
      code: 1,
      lines: [
        OK[0],
        OK[1],
        step('FAIL GET /hello/again: expected 200 "Hello ELECLE 2", got 200 "Expired!"'),
        step('FAIL GET /hello/again: expected 200 "Hello ELECLE 3", got 200 "Expired!"'),
        summary(2),
      ],
    });
  });

  it('exits 1 after its 5 s timeout, saying "no answer", when /health never answers', async () => {
    service = await fakeService('/health', { kind: 'never answers' });
    const { code, lines } = await smoke(service.baseUrl);
    expect({ code, lines }).toEqual({
      code: 1,
      lines: [
        step('FAIL GET /health: no answer: The operation was aborted due to timeout'),
        ...OK.slice(1),
        summary(3),
      ],
    });
    const waitedMs = Number(/\((\d+) ms\)$/.exec(lines[0] ?? '')?.[1]);
    expect(waitedMs).toBeGreaterThanOrEqual(5_000);
    expect(waitedMs).toBeLessThan(6_000);
  }, 15_000);

  it('exits 1 saying "no answer" when /hello/again closes the connection', async () => {
    service = await fakeService('/hello/again', { kind: 'closes the connection' });
    expect(await smoke(service.baseUrl)).toEqual({
      code: 1,
      lines: [
        OK[0],
        OK[1],
        step('FAIL GET /hello/again: no answer: fetch failed'),
        step('FAIL GET /hello/again: no answer: fetch failed'),
        summary(2),
      ],
    });
  });
});
