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

  it('says each function is ready, its counter store answering, before the server is ready', () => {
    // Prepare
    const output = stack.offline.output();
    const serverReady = lineIndex(output, 'Server ready:');

    // Assess
    expect(serverReady).toBeGreaterThan(-1);
    for (const name of FUNCTIONS) {
      const ready = lineIndex(output, `Function ${name} ready in `);
      expect({ name, ready: ready > -1 && ready < serverReady }).toEqual({ name, ready: true });
      expect(output).toMatch(new RegExp(`Function ${name} ready in \\d+ ms: handler loaded, counter store answering`));
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

  it('starts anyway, says which functions cannot reach their store, and answers 503', async () => {
    for (const name of FUNCTIONS) {
      expect(offline.output()).toMatch(
        new RegExp(`Function ${name} started in \\d+ ms, but its counter store does not answer \\(see the log\\)`),
      );
    }
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

  it('tries again until the store answers, then says each function is ready', async () => {
    for (const name of FUNCTIONS) {
      expect(offline.output()).toMatch(new RegExp(`Function ${name} ready in \\d+ ms: handler loaded`));
    }
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
  });
});
