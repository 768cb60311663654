// Where each store is: the URL, table name or endpoint a variable names, checked for its shape.
import { type Env, value } from './env-values';
import { ConfigError } from './errors';

export function readRedisUrl(env: Env): string {
  const raw = value(env, 'REDIS_URL');
  if (!raw) {
    throw new ConfigError('REDIS_URL', 'is required when COUNTER_STORE is "redis" (e.g. redis://localhost:6379)');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('REDIS_URL', `is not a URL (expected redis://host:port or rediss://host:port)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', `must start with redis:// or rediss:// (got "${url.protocol}//")`);
  }
  if (!url.hostname) {
    throw new ConfigError('REDIS_URL', 'has no host');
  }
  if (!/^\/?(\d{1,5})?$/.test(url.pathname)) {
    throw new ConfigError('REDIS_URL', `must name a database by its number, as in /0 (got "${url.pathname}")`);
  }
  return raw;
}

export function readTableName(env: Env): string {
  const table = value(env, 'DYNAMODB_TABLE');
  if (!table) throw new ConfigError('DYNAMODB_TABLE', 'is required when COUNTER_STORE is "dynamodb"');
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new ConfigError(
      'DYNAMODB_TABLE',
      `is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -; got "${table}")`,
    );
  }
  return table;
}

/** For DynamoDB-compatible servers (dynalite, DynamoDB Local); unset in AWS. */
export function readEndpoint(env: Env): string | undefined {
  const endpoint = value(env, 'DYNAMODB_ENDPOINT');
  if (endpoint === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new ConfigError('DYNAMODB_ENDPOINT', `must be an http:// or https:// URL (got "${endpoint}")`);
  }
  return endpoint;
}

/** The URL with any password replaced, fit for a log line. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '****';
  return url.toString();
}
