import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { type Offline, startOffline } from '../support/offline';
import { countClients } from '../support/redis-server';
import { type Stack, startStack } from '../support/stack';

const FUNCTIONS = ['hello', 'helloAgain', 'health'];

/** Where in the startup output a line first appears (-1 when it does not). */
const lineIndex = (output: string, text: string) => output.split('\n').findIndex((line) => line.includes(text));

describe("HTTP: Lambda's init phase before serverless-offline listens", () => {
  let stack: Stack<'redis'>;

  beforeAll(async () => {
    stack = await startStack({ store: 'redis' });
  });

  afterAll(() => stack?.stop());

  it("says each function's init phase is done before the server is ready", () => {
    // Prepare
    const output = stack.offline.output();
    const serverReady = lineIndex(output, 'Server ready:');

    // Assess
    expect(serverReady).toBeGreaterThan(-1);
    for (const name of FUNCTIONS) {
      const initialised = lineIndex(output, `Function ${name} initialised in `);
      expect({ name, initialised: initialised > -1 && initialised < serverReady }).toEqual({ name, initialised: true });
    }
  });

  it('has opened one Redis connection per function before the first request', async () => {
    expect(await countClients(stack.inspector)).toBe(FUNCTIONS.length);
  });
});

describe("HTTP: Lambda's init phase with Redis not answering", () => {
  let offline: Offline;

  beforeAll(async () => {
    // A port nothing listens on: each connection is refused.
    offline = await startOffline({ env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
  });

  afterAll(() => offline?.stop());

  it('starts anyway once each function gave up on its store, says why, and answers 503', async () => {
    for (const name of FUNCTIONS)
      expect(offline.output()).toMatch(new RegExp(`Function ${name} initialised in \\d+ ms`));
    expect(offline.output()).toMatch(/"level":"WARN","message":"Redis unreachable".*ECONNREFUSED/);
    const answer = await offline.get('/hello');
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 503, body: 'Service Unavailable' });
  });
});

describe("HTTP: Lambda's init phase with a first connection that never answers", () => {
  let stack: Stack<'redis'>;
  let offline: Offline;

  beforeAll(async () => {
    // Prepare: each function's first connection is accepted and then hangs, as under a machine too
    // busy to answer; a second attempt, a second after all three hung, goes through.
    stack = await startStack({ store: 'redis', proxy: true, offline: false });
    const { proxy } = stack;
    proxy.setNewConnections('hang');
    const healLater = (async () => {
      while (proxy.accepted < FUNCTIONS.length) await sleep(50);
      await sleep(1_000);
      proxy.setNewConnections('forward');
    })();
    offline = await stack.startOffline();
    await healLater;
  });

  afterAll(() => stack?.stop());

  it('tries again until the store answers, then starts and counts', async () => {
    for (const name of FUNCTIONS)
      expect(offline.output()).toMatch(new RegExp(`Function ${name} initialised in \\d+ ms`));
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
  });
});
