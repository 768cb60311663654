import { Redis } from 'ioredis';
import { StoreUnavailableError } from '../errors';
import { type RedisConnectionOptions, redisClientOptions } from './redis-client-options';
import type { ConnectionHealth } from './redis-connection-health';
import { loggableError } from './redis-redaction';
import { credentialsRefused } from './redis-reply-errors';

/** One TCP connection to Redis, from connect to retirement. It is never reconnected: a new one replaces it. */
export interface Link {
  client: Redis;
  /** Resolves once the connection has passed the ready check in the right database. */
  ready: Promise<Redis>;
  /** Counts the steps a connection attempt has made, so a slow but moving attempt is not abandoned. */
  steps: number;
  /** Set once `ready` resolved: the connection is in the right database. */
  verified: boolean;
  lastUsedAt: number;
  retired: boolean;
}

export function retireLink(link: Link): void {
  if (link.retired) return;
  link.retired = true;
  link.client.disconnect();
}

/** Opens a connection; `password` is REDIS_URL's, masked in every error this reports to `health`. */
export function openLink(options: RedisConnectionOptions, health: ConnectionHealth, password: string): Link {
  const client = new Redis(options.url, { ...redisClientOptions(), ...options.clientOptions });
  options.prepare(client);
  const link: Link = {
    client,
    ready: Promise.resolve(client),
    steps: 0,
    verified: false,
    lastUsedAt: Date.now(),
    retired: false,
  };
  link.ready = new Promise<Redis>((resolve, reject) => {
    let lastError: unknown;
    let refusedDatabase: unknown;
    let refusedCredentials: StoreUnavailableError | undefined;
    // A host name's DNS lookup is a step too: in a container (REDIS_URL=redis://redis:6379) on a
    // busy machine it can take longer than the timeout. The socket exists once 'connecting' has
    // been emitted and the connector's promise has settled: look for it after this turn.
    client.once('connecting', () =>
      setImmediate(() =>
        client.stream?.once('lookup', () => {
          link.steps += 1;
        }),
      ),
    );
    client.on('connect', () => {
      link.steps += 1;
      // Each reply of the handshake (CLIENT SETINFO, SELECT, INFO) is a step too: in a busy
      // process they can take several event-loop turns, each longer than the timeout.
      const step = () => {
        link.steps += 1;
      };
      client.stream.on('data', step);
      client.once('ready', () => client.stream.off('data', step));
    });
    client.on('error', (raw: Error & { command?: { name?: string } }) => {
      const error = loggableError(raw, password);
      lastError = error;
      // ioredis reports a refused SELECT as an error and carries on in database 0.
      if (raw.command?.name === 'select') refusedDatabase = error;
      else {
        refusedCredentials ??= credentialsRefused(error);
        health.failed(refusedCredentials ?? error);
      }
    });
    client.once('ready', () => {
      if (refusedDatabase === undefined) {
        link.verified = true;
        health.ready();
        resolve(client);
        return;
      }
      const error = new StoreUnavailableError(
        `REDIS_URL names database ${client.options.db}, which this Redis refuses; use one it has (0 on ElastiCache)`,
        { cause: refusedDatabase },
      );
      health.failed(error);
      reject(error);
      retireLink(link);
    });
    client.once('end', () => {
      link.retired = true;
      reject(refusedCredentials ?? new StoreUnavailableError('Redis connection failed', { cause: lastError }));
    });
  });
  // A rejection nobody awaits (no request was waiting) is expected, not a crash.
  link.ready.catch(() => {});
  return link;
}
