/** Where the hello counter lives. Each method is one atomic step in the store. */
export interface CounterStore {
  /** Sets the counter to 1 and (re)opens its window of `windowMs`. Returns 1. */
  start(key: string, windowMs: number): Promise<number>;
  /** Adds 1 while the window is open; `null` once it has closed or never opened. Never reopens it. */
  increment(key: string): Promise<number | null>;
  /** Resolves when the store answers; changes nothing. For GET /health. */
  ping(): Promise<void>;
}
