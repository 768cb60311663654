import type { CounterStore } from './counter-store';

interface Window {
  count: number;
  closesAt: number;
}

/** Keeps counters in this process. One event loop makes each method atomic. */
export class MemoryCounterStore implements CounterStore {
  readonly #windows = new Map<string, Window>();

  /** `now` is a monotonic clock in milliseconds, so a wall-clock change cannot move a window. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  async start(key: string, windowMs: number): Promise<number> {
    this.#windows.set(key, { count: 1, closesAt: this.now() + windowMs });
    return 1;
  }

  async increment(key: string): Promise<number | null> {
    const window = this.#windows.get(key);
    if (!window) return null;
    if (this.now() >= window.closesAt) {
      this.#windows.delete(key);
      return null;
    }
    window.count += 1;
    return window.count;
  }

  async ping(): Promise<void> {}
}

// "This process only" means every function loaded into the process, and each function is bundled
// on its own, with a copy of this module: the process-wide symbol registry holds the one store.
const PROCESS_STORE = Symbol.for('elecle-hello.memory-counter-store');

/** The process's one memory store. */
export function processMemoryStore(): MemoryCounterStore {
  const registry = globalThis as { [PROCESS_STORE]?: MemoryCounterStore };
  registry[PROCESS_STORE] ??= new MemoryCounterStore();
  return registry[PROCESS_STORE];
}
