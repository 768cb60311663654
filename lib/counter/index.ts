import type { StoreConfig } from '../config';
import { HELLO_KEY } from '../hello';
import type { CounterStore } from './counter-store';

export type { CounterStore } from './counter-store';

/**
 * The one place that turns configuration into a store. Adapters are imported only when chosen, so
 * a deployed bundle can leave out the SDK of the store its stage does not use.
 */
export async function createCounterStore(config: StoreConfig): Promise<CounterStore> {
  switch (config.kind) {
    case 'memory': {
      const { processMemoryStore } = await import('./memory');
      return processMemoryStore();
    }
    case 'redis': {
      const { RedisCounterStore } = await import('./redis');
      // Each connection creates the counter's ring of outcomes before its first write.
      return new RedisCounterStore({ ...config, counterKeys: [HELLO_KEY] });
    }
    case 'dynamodb': {
      const { DynamoDbCounterStore } = await import('./dynamodb');
      return new DynamoDbCounterStore(config);
    }
  }
}
