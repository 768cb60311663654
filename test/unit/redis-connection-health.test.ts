import { ReplyError } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionHealth } from '../../lib/counter/redis-connection-health';
import { StoreUnavailableError } from '../../lib/errors';
import { logger } from '../../lib/telemetry';

/** The log lines written, as [level, message, attributes]. */
function logLines() {
  const warn = vi.spyOn(logger, 'warn').mockImplementation(() => {});
  const info = vi.spyOn(logger, 'info').mockImplementation(() => {});
  return () => [
    ...warn.mock.calls.map(([message, attributes]) => ['WARN', message, attributes]),
    ...info.mock.calls.map(([message, attributes]) => ['INFO', message, attributes]),
  ];
}

describe('Class: ConnectionHealth', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('warns once while connections keep failing, and says once when one works again', () => {
    const lines = logLines();
    const health = new ConnectionHealth('rediss://host:6379');
    health.failed(new Error('connect ECONNREFUSED'));
    health.failed(new Error('connect ECONNREFUSED'));
    health.ready();
    health.ready();
    health.failed(new Error('read ECONNRESET'));
    health.ready();
    expect(lines().map(([level, message]) => `${level} ${message}`)).toEqual([
      'WARN Redis unreachable',
      'WARN Redis connection lost',
      'INFO Redis connection ready',
      'INFO Redis connection ready again',
    ]);
  });

  it('hints at rediss:// only for a redis:// URL', () => {
    const lines = logLines();
    new ConnectionHealth('redis://host:6379').failed(new Error('read ECONNRESET'));
    new ConnectionHealth('rediss://host:6379').failed(new Error('read ECONNRESET'));
    expect(lines().map(([, , attributes]) => (attributes as { hint?: string }).hint)).toEqual([
      'if the server requires TLS (ElastiCache does), use rediss://',
      undefined,
    ]);
  });

  it("logs Redis's refusal as its reason, with no TLS hint", () => {
    const lines = logLines();
    const reply = new ReplyError('WRONGPASS invalid username-password pair');
    new ConnectionHealth('redis://host:6379').failed(
      new StoreUnavailableError('Redis refused the user name or password in REDIS_URL', { cause: reply }),
    );
    expect(lines()).toEqual([
      ['WARN', 'Redis refused the user name or password in REDIS_URL', { url: 'redis://host:6379', error: reply }],
    ]);
  });
});
