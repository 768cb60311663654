import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { CounterStore } from '../../lib/counter';

export interface ContractSubject {
  store: CounterStore;
  /** Called once after the suite. */
  close?: () => Promise<void>;
}

const WINDOW_MS = 300;

/** What every CounterStore adapter must do, whatever it stores in. */
export function describeCounterStoreContract(name: string, create: () => Promise<ContractSubject>): void {
  describe(`Contract: CounterStore (${name})`, () => {
    let subject: ContractSubject | undefined;
    let key: string;
    let keyNumber = 0;

    const store = async () => {
      subject ??= await create();
      return subject.store;
    };

    beforeEach(() => {
      keyNumber += 1;
      key = `contract:${process.pid}:${Date.now()}:${keyNumber}`;
    });

    afterAll(async () => {
      await subject?.close?.();
    });

    it('returns 1 from start', async () => {
      expect(await (await store()).start(key, WINDOW_MS)).toBe(1);
    });

    it('returns 2, 3, 4 from increments inside the window', async () => {
      const counter = await store();
      await counter.start(key, 10_000);
      expect([await counter.increment(key), await counter.increment(key), await counter.increment(key)]).toEqual([
        2, 3, 4,
      ]);
    });

    it('returns null from increment before any start', async () => {
      const counter = await store();
      expect(await counter.increment(key)).toBeNull();
      expect(await counter.increment(key)).toBeNull();
    });

    it('resets the count to 1 on start', async () => {
      const counter = await store();
      await counter.start(key, 10_000);
      await counter.increment(key);
      await counter.increment(key);
      expect(await counter.start(key, 10_000)).toBe(1);
      expect(await counter.increment(key)).toBe(2);
    });

    it('returns null once the window has closed, and keeps returning null', async () => {
      const counter = await store();
      await counter.start(key, WINDOW_MS);
      expect(await counter.increment(key)).toBe(2);
      await sleep(WINDOW_MS + 100);
      expect(await counter.increment(key)).toBeNull();
      expect(await counter.increment(key)).toBeNull();
    });

    it('does not extend the window on increment', async () => {
      const counter = await store();
      await counter.start(key, WINDOW_MS);
      for (let i = 0; i < 4; i += 1) {
        await sleep(WINDOW_MS / 5);
        await counter.increment(key);
      }
      await sleep(WINDOW_MS / 5 + 100);
      expect(await counter.increment(key)).toBeNull();
    });

    it('opens a new window with start after expiry', async () => {
      const counter = await store();
      await counter.start(key, WINDOW_MS);
      await sleep(WINDOW_MS + 100);
      expect(await counter.start(key, 10_000)).toBe(1);
      expect(await counter.increment(key)).toBe(2);
    });

    it('returns each of 2..201 exactly once from 200 concurrent increments', async () => {
      const counter = await store();
      await counter.start(key, 30_000);
      const counts = await Promise.all(Array.from({ length: 200 }, () => counter.increment(key)));
      expect([...counts].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    });

    it('keeps keys apart', async () => {
      const counter = await store();
      await counter.start(key, 10_000);
      await counter.increment(key);
      expect(await counter.increment(`${key}:other`)).toBeNull();
      expect(await counter.increment(key)).toBe(3);
    });
  });
}
