import type { Redis, RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  url: string;
  /** How long a request waits for a connection, and then for a reply. */
  timeoutMs: number;
  /** A connection unused this long is replaced before it is used again (a network may have dropped it). */
  maxIdleMs: number;
  /** Added to the client options (a test's own TLS CA, say). */
  clientOptions?: RedisOptions | undefined;
  /** Defines this store's commands on each new client. */
  prepare: (client: Redis) => void;
}

/**
 * ioredis's own timers (`commandTimeout`, `socketTimeout`, `connectTimeout`) fire late in a busy
 * process and then fail commands whose replies have already arrived; its reconnect loop keeps a
 * half-open socket or a wrong database in use. So each connection is used until it fails once and
 * is then replaced, and every wait is bounded by `settleWithin`.
 */
export function redisClientOptions(): RedisOptions {
  return {
    // A backstop for a TCP connect that hangs while no request is waiting; requests give up sooner.
    connectTimeout: 10_000,
    // Commands are sent only once the connection is ready, with a deadline computed at that moment.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => null,
    // Keeps an idle flow alive in NATs and load balancers (AWS drops idle ones after 350 s).
    keepAlive: 60_000,
  };
}
