import { EventEmitter } from 'node:events';
import { type Redis, ReplyError } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConnectionHealth,
  credentialsRefused,
  explainReplyError,
  loggableError,
  RedisConnection,
} from '../../lib/counter/redis-connection';
import { ReplyLostError, StoreUnavailableError } from '../../lib/errors';
import { logger } from '../../lib/telemetry';

// The parts of a Redis connection's life that are logic alone: what Redis's errors mean, what may
// be logged of them, and how an outage is told in the log. The connection itself is tested against
// redis-server (test/contract, test/in-process).

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
    expect(
      lines().map(([level, message, attributes]) => [level, message, (attributes as { url?: string }).url]),
    ).toEqual([
      ['WARN', 'Redis unreachable', 'rediss://host:6379'],
      ['WARN', 'Redis connection lost', 'rediss://host:6379'],
      ['INFO', 'Redis connection ready', 'rediss://host:6379'],
      ['INFO', 'Redis connection ready again', 'rediss://host:6379'],
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

describe('Function: explainReplyError', () => {
  it.each([
    [
      "OOM command not allowed when used memory > 'maxmemory'.",
      'Redis is out of memory (maxmemory with noeviction) and refused the write',
      false,
    ],
    [
      "READONLY You can't write against a read only replica.",
      'Redis is a read-only replica (after a failover?); reconnecting',
      true,
    ],
    ['LOADING Redis is loading the dataset in memory', 'Redis is loading its dataset into memory', false],
    // Redis 6 wraps an error raised by a command inside a script.
    [
      "ERR Error running script (call to f_1): @user_script:6: @user_script: 6: -READONLY You can't write against a read only replica.",
      'Redis is a read-only replica (after a failover?); reconnecting',
      true,
    ],
    [
      'ERR Error running script (call to f_1): @user_script:6: -OOM command not allowed',
      'Redis is out of memory (maxmemory with noeviction) and refused the write',
      false,
    ],
    [
      'ERR value is not an integer or out of range',
      'Redis answered with an error: ERR value is not an integer or out of range',
      false,
    ],
    // A code only counts as a whole word.
    ['ERR unknown command BLOOMING', 'Redis answered with an error: ERR unknown command BLOOMING', false],
  ])('explains %j, replacing the connection: %s', (message, problem, reconnect) => {
    expect(explainReplyError(message)).toEqual({ problem, reconnect });
  });
});

describe('Function: credentialsRefused', () => {
  const reply = (message: string) =>
    Object.assign(new ReplyError(message), { command: { name: 'auth', args: ['user', 'secret'] } });

  it.each([
    [
      'NOAUTH Authentication required.',
      'Redis requires a password, and REDIS_URL has none: use redis://:PASSWORD@host:port (rediss:// for TLS)',
    ],
    [
      'WRONGPASS invalid username-password pair or user is disabled.',
      'Redis refused the user name or password in REDIS_URL',
    ],
  ])(
    'says what to fix in REDIS_URL for %j, keeping the reply but not the command (its password)',
    (message, problem) => {
      const refused = credentialsRefused(reply(message));
      expect(refused?.message).toBe(problem);
      expect(refused?.cause).toMatchObject({ name: 'ReplyError', message });
      expect(JSON.stringify(refused?.cause)).not.toContain('secret');
      expect(refused?.cause).not.toHaveProperty('command');
    },
  );

  it.each([
    ['another reply', reply('ERR unknown command')],
    ['a code that is not the first word', reply('ERR the WRONGPASS flag')],
    ['another code that is not the first word', reply('ERR the NOAUTH flag')],
    ['an error that is not a reply', new Error('WRONGPASS invalid username-password pair')],
  ])('leaves %s to the other explanations', (_, error) => {
    expect(credentialsRefused(error)).toBeUndefined();
  });
});

describe('Function: loggableError', () => {
  const authReply = () =>
    Object.assign(new ReplyError("ERR unknown command 'auth', with args beginning with: 's3cret'"), {
      command: { name: 'auth', args: ['s3cret'] },
    });

  it('drops the command a reply error answered, and masks the password Redis quoted', () => {
    const logged = loggableError(authReply(), 's3cret');
    expect(logged).not.toHaveProperty('command');
    expect(logged).toMatchObject({ name: 'ReplyError' });
    expect(logged.message).toBe("ERR unknown command 'auth', with args beginning with: '****'");
    expect(logged.stack).not.toContain('s3cret');
  });

  it('keeps the message as Redis wrote it when there is no password to mask', () => {
    const logged = loggableError(authReply());
    expect(logged).not.toHaveProperty('command');
    expect(logged.message).toBe("ERR unknown command 'auth', with args beginning with: 's3cret'");
  });

  it("returns an error with no command (the socket's) as it is", () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    expect(loggableError(refused, 's3cret')).toBe(refused);
  });
});

describe('Class: RedisConnection, a command that fails', () => {
  /** A connection over a stand-in for ioredis's client: only what reply() looks at. */
  const connection = () => {
    const client = Object.assign(new EventEmitter(), { status: 'ready', disconnect: () => {} }) as unknown as Redis;
    return new RedisConnection(client, {
      timeoutMs: 1_000,
      health: new ConnectionHealth('redis://h:6379'),
      password: '',
    });
  };

  it('is an exact failure when ioredis refused it without writing it (its socket had ended): nothing can have run', async () => {
    const used = connection();
    const refused = Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
    const error = await used.reply(refused).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).not.toBeInstanceOf(ReplyLostError);
    expect((error as Error).message).toBe('Redis connection closed before the command was sent');
    expect(used.retired).toBe(true);
  });

  it('is a lost reply when the connection closed after it was written: it may have run', async () => {
    const used = connection();
    const error = await used
      .reply(Promise.reject(new Error('Connection is closed.')))
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ReplyLostError);
    expect(used.retired).toBe(true);
  });
});
