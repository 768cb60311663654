import { ConfigError } from './errors';

export type Env = Record<string, string | undefined>;

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string; timeoutMs: number; maxIdleMs: number }
  | { kind: 'dynamodb'; table: string; endpoint: string | undefined; timeoutMs: number; maxIdleMs: number };

export interface Config {
  /** How long a window opened by GET /hello stays open. */
  windowMs: number;
  store: StoreConfig;
}

const STORE_KINDS = ['memory', 'redis', 'dynamodb'] as const;
const DEFAULT_WINDOW_SECONDS = 30;
const MAX_WINDOW_SECONDS = 24 * 60 * 60;
const DEFAULT_STORE_TIMEOUT_MS = 500;
// AWS drops idle TCP flows through NATs, load balancers and a Lambda function's VPC interface
// after 350 s, without telling either end; a connection is replaced well before that.
const DEFAULT_MAX_IDLE_SECONDS = 240;
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

/**
 * Reads and validates the environment once. Throws a ConfigError naming the first bad variable.
 * An empty value counts as unset, because serverless.yml passes `${env:NAME, ''}` through.
 */
export function readConfig(env: Env): Config {
  const windowSeconds = readNumber(env, 'HELLO_WINDOW_SECONDS', DEFAULT_WINDOW_SECONDS, {
    min: 0.001,
    max: MAX_WINDOW_SECONDS,
  });
  // Checked whatever the store, so a typo is caught before the store that would use it is chosen.
  readStoreTimeout(env);
  readMaxIdleMs(env);
  readLogLevel(env);
  return { windowMs: Math.round(windowSeconds * 1000), store: readStoreConfig(env) };
}

/** One line for the startup log: which store, where. */
export function describeStore({ store }: Config): string {
  switch (store.kind) {
    case 'redis':
      return `redis at ${redactUrl(store.url)}`;
    case 'dynamodb':
      return `dynamodb table ${store.table}${store.endpoint ? ` at ${store.endpoint}` : ''}`;
    case 'memory':
      return 'memory (this process only)';
  }
}

/** The URL with any password replaced, fit for a log line. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '****';
  return url.toString();
}

function readStoreConfig(env: Env): StoreConfig {
  const kind = value(env, 'COUNTER_STORE') ?? (value(env, 'REDIS_URL') ? 'redis' : 'memory');
  switch (kind) {
    case 'memory':
      if (env.AWS_LAMBDA_FUNCTION_NAME && !env.IS_OFFLINE) {
        throw new ConfigError(
          'COUNTER_STORE',
          'is "memory", which cannot work in AWS Lambda: every instance would count on its own. Use redis or dynamodb.',
        );
      }
      return { kind };
    case 'redis':
      return { kind, url: readRedisUrl(env), timeoutMs: readStoreTimeout(env), maxIdleMs: readMaxIdleMs(env) };
    case 'dynamodb':
      return {
        kind,
        table: readTableName(env),
        endpoint: readEndpoint(env),
        timeoutMs: readStoreTimeout(env),
        maxIdleMs: readMaxIdleMs(env),
      };
    default:
      throw new ConfigError('COUNTER_STORE', `must be one of ${STORE_KINDS.join(', ')} (got "${kind}")`);
  }
}

function readStoreTimeout(env: Env): number {
  return readNumber(env, 'STORE_TIMEOUT_MS', DEFAULT_STORE_TIMEOUT_MS, { min: 10, max: 60_000, integer: true });
}

function readMaxIdleMs(env: Env): number {
  const seconds = readNumber(env, 'STORE_MAX_IDLE_SECONDS', DEFAULT_MAX_IDLE_SECONDS, { min: 1, max: 3600 });
  return Math.round(seconds * 1000);
}

/** serverless.yml passes LOG_LEVEL to Powertools as POWERTOOLS_LOG_LEVEL; people set LOG_LEVEL. */
function readLogLevel(env: Env): void {
  const level = value(env, 'POWERTOOLS_LOG_LEVEL') ?? value(env, 'LOG_LEVEL');
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level.toUpperCase())) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`);
  }
}

function readRedisUrl(env: Env): string {
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

function readTableName(env: Env): string {
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
function readEndpoint(env: Env): string | undefined {
  const endpoint = value(env, 'DYNAMODB_ENDPOINT');
  if (endpoint === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new ConfigError('DYNAMODB_ENDPOINT', `must be an http:// or https:// URL (got "${endpoint}")`);
  }
  return endpoint;
}

/** A number from the environment, within bounds; the fallback when unset. Errors name the variable. */
function readNumber(
  env: Env,
  name: string,
  fallback: number,
  { min, max, integer = false }: { min: number; max: number; integer?: boolean },
): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const parsed = Number(raw);
  const kind = integer ? 'a whole number' : 'a number';
  if (!/^\s*[0-9.]+\s*$/.test(raw) || !Number.isFinite(parsed) || (integer && !Number.isInteger(parsed))) {
    throw new ConfigError(name, `must be ${kind} from ${min} to ${max} (got "${raw}")`);
  }
  if (parsed < min || parsed > max) {
    throw new ConfigError(name, `must be ${kind} from ${min} to ${max} (got ${raw})`);
  }
  return parsed;
}

/** The variable's value, trimmed; undefined when unset or empty (serverless.yml passes `${env:NAME, ''}`). */
function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}
