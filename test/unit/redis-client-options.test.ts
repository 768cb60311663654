import { describe, expect, it } from 'vitest';
import { redisClientOptions } from '../../lib/counter/redis-client-options';

// Each connection is used until it fails once and is then replaced (test/in-process/redis-faults
// shows the behaviour). These options are what keeps ioredis from doing anything behind that.
describe('Function: redisClientOptions', () => {
  const options = redisClientOptions();

  it('never lets ioredis resend or retry a command by itself: a resent INCR could count twice', () => {
    expect(options.autoResendUnfulfilledCommands).toBe(false);
    expect(options.maxRetriesPerRequest).toBe(0);
  });

  it('never lets ioredis reconnect a connection: a failed one is replaced by a new client', () => {
    expect(options.retryStrategy?.(1)).toBeNull();
    expect(options.retryStrategy?.(100)).toBeNull();
  });

  it('queues no command while a connection is not ready: its deadline would start before it is sent', () => {
    expect(options.enableOfflineQueue).toBe(false);
  });

  it('bounds a TCP connect no request waits for, and keeps idle connections alive through NATs', () => {
    expect(options.connectTimeout).toBe(10_000);
    expect(options.keepAlive).toBe(60_000);
  });
});
