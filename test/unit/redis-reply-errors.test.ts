import { describe, expect, it } from 'vitest';
import { explainReplyError } from '../../lib/counter/redis-connection';

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
