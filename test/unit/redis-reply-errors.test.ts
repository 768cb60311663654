import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { credentialsRefused, explainReplyError } from '../../lib/counter/redis-reply-errors';

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
