import type { StoreConfig } from '../config';
import type { CounterStore } from './counter-store';
import { MemoryCounterStore } from './memory';

export type { CounterStore } from './counter-store';

/**
 * The one place that turns configuration into a store. Adapters are imported only when chosen, so
 * a deployed bundle can leave out the SDK of the store its stage does not use.
 */
export async function createCounterStore(config: StoreConfig): Promise<CounterStore> {
  switch (config.kind) {
    case 'memory':
      return processMemoryStore();
    case 'redis': {
      const { RedisCounterStore } = await import('./redis');
      return new RedisCounterStore(config);
    }
    case 'dynamodb': {
      const { DynamoDbCounterStore } = await import('./dynamodb');
      return new DynamoDbCounterStore(config);
    }
  }
}

// Each function is bundled on its own, so a module-level store would be one per function.
// The process-wide symbol registry gives both functions the same store.
const MEMORY_STORE = Symbol.for('elecle-hello.memory-counter-store');

// In worker threads each function would count on its own: tools/serverless-config-check.cjs stops
// `sls offline` at startup when the memory store would run there.
function processMemoryStore(): CounterStore {
  const registry = globalThis as { [MEMORY_STORE]?: MemoryCounterStore };
  registry[MEMORY_STORE] ??= new MemoryCounterStore();
  return registry[MEMORY_STORE];
}
