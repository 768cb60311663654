import { expect } from 'vitest';

/** The items, once asserted to be at least one: a check looped over none would check nothing. */
export function found<T>(items: T[], what: string): T[] {
  expect(items.length, `found no ${what}`).toBeGreaterThan(0);
  return items;
}
