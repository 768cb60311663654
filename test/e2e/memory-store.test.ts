import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Offline, startOfflineExpectingFailure } from '../support/offline';
import { type Stack, startStack } from '../support/stack';

describe('HTTP: the embedded in-memory store (no REDIS_URL)', () => {
  let stack: Stack<'memory'>;
  let offline: Offline;

  beforeAll(async () => {
    stack = await startStack({ store: 'memory' });
    ({ offline } = stack);
  });

  afterAll(() => stack?.stop());

  it('says at startup which store it uses', () => {
    expect(offline.output()).toContain('Counter store: memory (this process only); window 30 s');
  });

  it('shares one counter between the two functions', async () => {
    expect((await offline.get('/hello/again')).body).toBe('Expired!');
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
    expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 3');
  });

  it('returns each of 2..201 exactly once to 200 concurrent /hello/again', async () => {
    await offline.get('/hello');
    const bodies = await Promise.all(Array.from({ length: 200 }, async () => (await offline.get('/hello/again')).body));
    const numbers = bodies.map((body) => Number(body.replace('Hello ELECLE ', '')));
    expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
  });
});

// Which value is wrong, and what each message says, is test/unit/config*.test.ts's; here, that the
// check runs when serverless-offline starts, and stops it.
describe('Startup: a wrong configuration value', () => {
  it('stops serverless-offline with a message naming the variable', async () => {
    const { code, output } = await startOfflineExpectingFailure({ env: { HELLO_WINDOW_SECONDS: 'thirty' } });
    expect(code).not.toBe(0);
    expect(output).toContain('HELLO_WINDOW_SECONDS must be a number');
  });

  it('stops serverless-offline when the in-memory store would run in worker threads', async () => {
    const { code, output } = await startOfflineExpectingFailure({ env: {}, params: ['offlineInProcess=false'] });
    expect(code).not.toBe(0);
    expect(output).toContain('COUNTER_STORE is "memory", which needs serverless-offline in-process');
  });
});
