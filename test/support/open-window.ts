import { expect } from 'vitest';
import type { Offline } from './offline';

/** Opens a window and counts to 2, so a test starts from a known count (and both routes are loaded). */
export async function openWindow(offline: Offline): Promise<void> {
  expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
  expect((await offline.get('/hello/again')).body).toBe('Hello ELECLE 2');
}
