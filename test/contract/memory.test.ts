import { MemoryCounterStore } from '../../lib/counter/memory';
import { describeCounterStoreContract } from './counter-store-contract';

describeCounterStoreContract('memory', async () => ({ store: new MemoryCounterStore() }));
