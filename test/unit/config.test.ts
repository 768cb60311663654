import { describe, expect, it } from 'vitest';
import { describeStore, readConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';

const failure = (env: Record<string, string>) => {
  try {
    readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return { variable: error.variable, message: error.message };
    throw error;
  }
  throw new Error('readConfig accepted the environment');
};

describe('Function: readConfig', () => {
  it('returns the in-memory store and a 30-second window when nothing is set', () => {
    expect(readConfig({})).toEqual({ windowMs: 30_000, store: { kind: 'memory' } });
  });

  it('treats empty values as unset', () => {
    expect(readConfig({ COUNTER_STORE: '', REDIS_URL: ' ', HELLO_WINDOW_SECONDS: '' })).toEqual({
      windowMs: 30_000,
      store: { kind: 'memory' },
    });
  });

  it('returns the Redis store when REDIS_URL is set', () => {
    expect(readConfig({ REDIS_URL: 'redis://cache:6379' }).store).toEqual({
      kind: 'redis',
      url: 'redis://cache:6379',
      timeoutMs: 500,
      maxIdleMs: 240_000,
    });
  });

  it('accepts rediss:// (TLS), a database number, a window in fractions of a second, a store timeout and idle limit', () => {
    const config = readConfig({
      REDIS_URL: 'rediss://cache:6379/2',
      HELLO_WINDOW_SECONDS: '1.5',
      STORE_TIMEOUT_MS: '250',
      STORE_MAX_IDLE_SECONDS: '60',
    });
    expect(config.windowMs).toBe(1_500);
    expect(config.store).toEqual({ kind: 'redis', url: 'rediss://cache:6379/2', timeoutMs: 250, maxIdleMs: 60_000 });
  });

  it('returns the DynamoDB store with its table, and an endpoint only when one is given', () => {
    expect(readConfig({ COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'elecle-hello-dev-counters' }).store).toEqual({
      kind: 'dynamodb',
      table: 'elecle-hello-dev-counters',
      endpoint: undefined,
      timeoutMs: 500,
      maxIdleMs: 240_000,
    });
    const local = { COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'counters', DYNAMODB_ENDPOINT: 'http://localhost:4567' };
    expect(readConfig(local).store).toMatchObject({ endpoint: 'http://localhost:4567' });
  });

  it.each([
    ['HELLO_WINDOW_SECONDS', '0.001', { windowMs: 1 }],
    ['HELLO_WINDOW_SECONDS', '86400', { windowMs: 86_400_000 }],
    ['HELLO_WINDOW_SECONDS', ' 2 ', { windowMs: 2_000 }],
    ['STORE_TIMEOUT_MS', '10', { store: { timeoutMs: 10 } }],
    ['STORE_TIMEOUT_MS', '60000', { store: { timeoutMs: 60_000 } }],
    ['STORE_MAX_IDLE_SECONDS', '1', { store: { maxIdleMs: 1_000 } }],
    ['STORE_MAX_IDLE_SECONDS', '3600', { store: { maxIdleMs: 3_600_000 } }],
    ['STORE_MAX_IDLE_SECONDS', '1.0004', { store: { maxIdleMs: 1_000 } }],
  ])('accepts %s=%j, the edge of its range', (variable, value, expected) => {
    // A value exactly at a bound is valid: the window must never round to 0 ms, nor a limit to its neighbour.
    expect(readConfig({ REDIS_URL: 'redis://cache', [variable]: value })).toMatchObject(expected);
  });

  it.each([
    ['HELLO_WINDOW_SECONDS', '0.0009', 'must be a number from 0.001 to 86400 (got 0.0009)'],
    ['HELLO_WINDOW_SECONDS', '86400.001', 'must be a number from 0.001 to 86400 (got 86400.001)'],
    ['STORE_TIMEOUT_MS', '9', 'must be a whole number from 10 to 60000 (got 9)'],
    ['STORE_TIMEOUT_MS', '60001', 'must be a whole number from 10 to 60000 (got 60001)'],
    ['STORE_TIMEOUT_MS', '1.5', 'must be a whole number from 10 to 60000 (got "1.5")'],
    ['STORE_MAX_IDLE_SECONDS', '0.999', 'must be a number from 1 to 3600 (got 0.999)'],
    ['STORE_MAX_IDLE_SECONDS', '3601', 'must be a number from 1 to 3600 (got 3601)'],
    // Number() reads these as 16, 1000 and 1000; only plain decimals are taken.
    ['HELLO_WINDOW_SECONDS', '0x10', 'must be a number from 0.001 to 86400 (got "0x10")'],
    ['HELLO_WINDOW_SECONDS', '1e3', 'must be a number from 0.001 to 86400 (got "1e3")'],
    ['STORE_TIMEOUT_MS', '1e3', 'must be a whole number from 10 to 60000 (got "1e3")'],
    ['HELLO_WINDOW_SECONDS', '10 s', 'must be a number from 0.001 to 86400 (got "10 s")'],
  ])('refuses %s=%s, just outside its range, saying the range', (variable, value, problem) => {
    expect(failure({ REDIS_URL: 'redis://cache', [variable]: value }).message).toBe(`${variable} ${problem}`);
  });

  it.each([
    [{ COUNTER_STORE: 'dynamodb' }, 'DYNAMODB_TABLE'],
    [{ COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'no spaces allowed' }, 'DYNAMODB_TABLE'],
    [
      { COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'counters', DYNAMODB_ENDPOINT: 'localhost:4567' },
      'DYNAMODB_ENDPOINT',
    ],
    [{ HELLO_WINDOW_SECONDS: 'abc' }, 'HELLO_WINDOW_SECONDS'],
    [{ HELLO_WINDOW_SECONDS: '0' }, 'HELLO_WINDOW_SECONDS'],
    [{ HELLO_WINDOW_SECONDS: '-5' }, 'HELLO_WINDOW_SECONDS'],
    [{ HELLO_WINDOW_SECONDS: '30s' }, 'HELLO_WINDOW_SECONDS'],
    [{ HELLO_WINDOW_SECONDS: '1e9' }, 'HELLO_WINDOW_SECONDS'],
    [{ HELLO_WINDOW_SECONDS: '100000' }, 'HELLO_WINDOW_SECONDS'],
    [{ COUNTER_STORE: 'postgres' }, 'COUNTER_STORE'],
    [{ COUNTER_STORE: 'redis' }, 'REDIS_URL'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'http://localhost:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ REDIS_URL: 'redis://cache', STORE_TIMEOUT_MS: '2.5' }, 'STORE_TIMEOUT_MS'],
    [{ REDIS_URL: 'redis://cache', STORE_TIMEOUT_MS: '0' }, 'STORE_TIMEOUT_MS'],
    // Checked whatever the store: a typo waits for no store to be chosen.
    [{ STORE_TIMEOUT_MS: 'fast' }, 'STORE_TIMEOUT_MS'],
    [{ COUNTER_STORE: 'memory', STORE_MAX_IDLE_SECONDS: '0' }, 'STORE_MAX_IDLE_SECONDS'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ POWERTOOLS_LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ REDIS_URL: 'redis://cache:6379/ninety-nine' }, 'REDIS_URL'],
  ])('throws a ConfigError naming the variable for %j', (env, variable) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable} `));
  });

  it.each([
    [
      { LOG_LEVEL: 'verbose' },
      'LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT (got "verbose")',
    ],
    [{ COUNTER_STORE: 'mongo' }, 'COUNTER_STORE must be one of memory, redis, dynamodb (got "mongo")'],
    [
      { AWS_LAMBDA_FUNCTION_NAME: 'hello' },
      'COUNTER_STORE is "memory", which cannot work in AWS Lambda: every instance would count on its own. Use redis or dynamodb.',
    ],
    [{ COUNTER_STORE: 'redis' }, 'REDIS_URL is required when COUNTER_STORE is "redis" (e.g. redis://localhost:6379)'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL is not a URL (expected redis://host:port or rediss://host:port)'],
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL must start with redis:// or rediss:// (got "http://")'],
    [{ REDIS_URL: 'redis:///0' }, 'REDIS_URL has no host'],
    [{ REDIS_URL: 'redis://cache:6379/x1' }, 'REDIS_URL must name a database by its number, as in /0 (got "/x1")'],
    [
      { REDIS_URL: 'redis://cache:6379/123456' },
      'REDIS_URL must name a database by its number, as in /0 (got "/123456")',
    ],
    [{ COUNTER_STORE: 'dynamodb' }, 'DYNAMODB_TABLE is required when COUNTER_STORE is "dynamodb"'],
    [
      { COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'counters!' },
      'DYNAMODB_TABLE is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -; got "counters!")',
    ],
    [
      { COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'counters', DYNAMODB_ENDPOINT: 'tcp://http://localhost:4567' },
      'DYNAMODB_ENDPOINT must be an http:// or https:// URL (got "tcp://http://localhost:4567")',
    ],
  ])('says exactly what is wrong with %j', (env, message) => {
    expect(failure(env).message).toBe(message);
  });

  it('accepts a two-digit database number', () => {
    expect(readConfig({ REDIS_URL: 'redis://cache:6379/15' }).store).toMatchObject({ url: 'redis://cache:6379/15' });
  });

  it('refuses the in-memory store inside AWS Lambda', () => {
    expect(failure({ AWS_LAMBDA_FUNCTION_NAME: 'hello' }).variable).toBe('COUNTER_STORE');
  });

  it('allows the in-memory store under serverless-offline', () => {
    expect(readConfig({ AWS_LAMBDA_FUNCTION_NAME: 'hello', IS_OFFLINE: 'true' }).store.kind).toBe('memory');
  });
});

describe('Function: describeStore', () => {
  it('masks the password in a Redis URL', () => {
    const line = describeStore(readConfig({ REDIS_URL: 'redis://default:s3cret@cache:6379/0' }));
    expect(line).toBe('redis at redis://default:****@cache:6379/0');
    expect(line).not.toContain('s3cret');
  });

  it('shows a Redis URL without a password as it is', () => {
    expect(describeStore(readConfig({ REDIS_URL: 'redis://cache:6379' }))).toBe('redis at redis://cache:6379');
  });

  it('names the DynamoDB table and the endpoint when one is given', () => {
    const env = { COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'counters', DYNAMODB_ENDPOINT: 'http://localhost:4567' };
    expect(describeStore(readConfig(env))).toBe('dynamodb table counters at http://localhost:4567');
  });

  it('names the DynamoDB table', () => {
    expect(describeStore(readConfig({ COUNTER_STORE: 'dynamodb', DYNAMODB_TABLE: 'counters' }))).toBe(
      'dynamodb table counters',
    );
  });

  it('names the in-memory store', () => {
    expect(describeStore(readConfig({}))).toBe('memory (this process only)');
  });
});
