import { afterAll, describe, expect, it } from 'vitest';
import { RedisCounterStore } from '../../lib/counter/redis';
import { StoreUnavailableError } from '../../lib/errors';
import { TestRedisServer } from '../support/redis-server';
import { describeCounterStoreContract } from './counter-store-contract';

// ElastiCache Serverless accepts only TLS: the same adapter, over rediss://, to a TLS-only redis-server.
let server: TestRedisServer | undefined;
const tlsServer = async () => {
  server ??= await TestRedisServer.start({ tls: true });
  return server;
};

afterAll(async () => {
  await server?.stop();
});

describeCounterStoreContract('redis over TLS', async () => {
  const { url, tls } = await tlsServer();
  // The service's own options; only the test CA is added (ElastiCache's certificate is publicly trusted).
  const store = new RedisCounterStore({
    url,
    timeoutMs: 2_000,
    maxIdleMs: 60_000,
    clientOptions: { tls: { ca: tls?.ca } },
  });
  return { store, close: () => store.close() };
});

describe('Class: RedisCounterStore against a TLS-only server', () => {
  it('fails fast with StoreUnavailableError on a plain redis:// connection, not a hang', async () => {
    const { port } = await tlsServer();
    const plain = new RedisCounterStore({ url: `redis://localhost:${port}`, timeoutMs: 500, maxIdleMs: 60_000 });
    try {
      const startedAt = performance.now();
      const outcome = await plain.increment('hello:count').catch((error: unknown) => error);
      expect(outcome).toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - startedAt).toBeLessThan(2_000);
    } finally {
      await plain.close();
    }
  });

  it('fails fast when the server certificate is not trusted', async () => {
    const { url } = await tlsServer();
    const untrusting = new RedisCounterStore({ url, timeoutMs: 500, maxIdleMs: 60_000 });
    try {
      const startedAt = performance.now();
      const outcome = await untrusting.start('hello:count', 1_000).catch((error: unknown) => error);
      expect(outcome).toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - startedAt).toBeLessThan(2_000);
    } finally {
      await untrusting.close();
    }
  });
});
