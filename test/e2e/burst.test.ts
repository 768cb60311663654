import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Offline } from '../support/offline';
import { type Stack, startStack } from '../support/stack';

const BURST = 1_000;

/** The JSON log lines serverless-offline printed (osls prefixes in-process lines with ESC[2K). */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .map((line) => /\{"level".*$/.exec(line)?.[0])
    .filter((line): line is string => line !== undefined)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('HTTP: a burst of 1,000 concurrent /hello/again on a freshly started service', () => {
  let stack: Stack<'redis'>;
  let offline: Offline;

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', env: { HELLO_WINDOW_SECONDS: '120', LOG_LEVEL: 'INFO' } });
    ({ offline } = stack);
  });

  afterAll(() => stack?.stop());

  it('returns each of 2..1001 exactly once, and no 503, right after startup', async () => {
    // The init phase made /hello/again's connection before the server listened (it was once made
    // inside this burst, and a busy process could answer every request 503).
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
    const answers = await Promise.all(Array.from({ length: BURST }, () => offline.get('/hello/again')));
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => answer.status)).toEqual([]);
    const numbers = answers.map((answer) => Number(answer.body.replace('Hello ELECLE ', '')));
    expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: BURST }, (_, index) => index + 2));
    expect((await offline.get('/hello/again')).body).toBe(`Hello ELECLE ${BURST + 2}`);
  });

  it('logs each request of the burst with its own request id', async () => {
    // stdout alone: a long line written in parts could otherwise have stderr's lines between them.
    const requests = () =>
      logLines(offline.stdout()).filter(
        (line) => line.message === 'request' && line.function_name === 'elecle-hello-local-helloAgain',
      );
    // The answers were sent before their log lines had all come through the pipe on a busy machine.
    const until = Date.now() + 10_000;
    while (requests().length < BURST + 1 && Date.now() < until) await sleep(100);
    expect(requests().length).toBe(BURST + 1);
    const ids = new Set(requests().map((line) => line.function_request_id));
    expect(ids.size).toBe(BURST + 1);
  });
});
