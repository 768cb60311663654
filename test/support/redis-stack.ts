import type { Redis } from 'ioredis';
import { type Offline, type OfflineOptions, startOffline } from './offline';
import { TestRedisServer } from './redis-server';

/** serverless-offline counting in a redis-server of its own, plus a client to look into Redis. */
export interface RedisStack {
  redis: TestRedisServer;
  inspector: Redis;
  offline: Offline;
  stop(): Promise<void>;
}

export async function startRedisStack(
  env: Omit<OfflineOptions['env'], 'REDIS_URL'> = {},
  redisOptions: Parameters<typeof TestRedisServer.start>[0] = {},
): Promise<RedisStack> {
  const redis = await TestRedisServer.start(redisOptions);
  const inspector = redis.client();
  const offline = await startOffline({ env: { ...env, REDIS_URL: redis.url } });
  return {
    redis,
    inspector,
    offline,
    async stop() {
      await offline.stop();
      // disconnect, not quit: QUIT waits for a reply that a stopped Redis never sends.
      inspector.disconnect();
      await redis.stop();
    },
  };
}
