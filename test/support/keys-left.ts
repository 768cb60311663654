import type { Redis } from 'ioredis';
import { RING_KEPT_MS } from '../../lib/counter/redis';

/**
 * The keys Redis holds, but for the rings of outcomes (`{...}:outcomes:...`) that will expire on their
 * own within a minute: those are kept on purpose. A ring with no expiry is listed, as a leak.
 */
export async function keysLeftBehind(inspector: Redis): Promise<string[]> {
  const left: string[] = [];
  for (const key of await inspector.keys('*')) {
    const ttl = await inspector.pttl(key);
    if (/^\{.*\}:outcomes:/.test(key) && ttl > 0 && ttl <= RING_KEPT_MS) continue;
    left.push(key);
  }
  return left;
}
