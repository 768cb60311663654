import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_KEY } from '../../lib/hello';
import { keysLeftBehind } from '../support/keys-left';
import type { Offline } from '../support/offline';
import { type Stack, startStack } from '../support/stack';

const WINDOW_MS = 500;
const CYCLES = 5;
const IN_FLIGHT = 10;
/** Redis keeps expiry in whole milliseconds. */
const CLOCK_SLACK_MS = 2;

interface Answer {
  sentAt: number;
  receivedAt: number;
  body: string;
}

describe('HTTP: /hello/again hammered across the moment the window closes', () => {
  let stack: Stack<'redis'>;
  let inspector: Redis;
  let offline: Offline;

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', env: { HELLO_WINDOW_SECONDS: String(WINDOW_MS / 1000) } });
    ({ inspector, offline } = stack);
  });

  afterAll(() => stack?.stop());

  it(`never returns a number after the window closed, nor leaves a key without expiry (${CYCLES} cycles)`, async () => {
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      // Prepare: open a window; the key's expiry is set somewhere between these two instants.
      const openedFrom = performance.now();
      expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
      const openedBy = performance.now();
      const closesBy = openedBy + WINDOW_MS;
      const closesFrom = openedFrom + WINDOW_MS;

      // Act: keep requests in flight until well past the close, while watching the key's expiry.
      const answers: Answer[] = [];
      const ttls: number[] = [];
      const until = closesBy + 200;
      const client = async () => {
        while (performance.now() < until) {
          const sentAt = performance.now();
          const { status, body } = await offline.get('/hello/again');
          expect(status).toBe(200);
          answers.push({ sentAt, receivedAt: performance.now(), body });
        }
      };
      const watcher = async () => {
        while (performance.now() < until) ttls.push(await inspector.pttl(HELLO_KEY));
      };
      await Promise.all([...Array.from({ length: IN_FLIGHT }, client), watcher()]);

      // Assess
      const counted = answers.filter((answer) => answer.body !== 'Expired!');
      const expired = answers.filter((answer) => answer.body === 'Expired!');
      expect(expired.length).toBeGreaterThan(0);
      const numbers = counted.map((answer) => Number(answer.body.replace('Hello ELECLE ', '')));
      expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 2));
      for (const answer of counted) expect(answer.sentAt).toBeLessThan(closesBy + CLOCK_SLACK_MS);
      for (const answer of expired) expect(answer.receivedAt).toBeGreaterThan(closesFrom - CLOCK_SLACK_MS);
      const lastExpiredSeenAt = Math.min(...expired.map((answer) => answer.receivedAt));
      expect(counted.filter((answer) => answer.sentAt > lastExpiredSeenAt)).toEqual([]);
      expect(ttls).not.toContain(-1);
      expect(await keysLeftBehind(inspector)).toEqual([]);
      await sleep(10);
    }
  });
});
