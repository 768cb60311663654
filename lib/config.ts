import { type Env, readNumber, value } from './env-values';
import { ConfigError } from './errors';
import { readEndpoint, readRedisUrl, readTableName, redactUrl } from './store-addresses';

export { redactUrl };

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

/** serverless.yml passes LOG_LEVEL to Powertools as POWERTOOLS_LOG_LEVEL; people set LOG_LEVEL. */
function readLogLevel(env: Env): void {
  const level = value(env, 'POWERTOOLS_LOG_LEVEL') ?? value(env, 'LOG_LEVEL');
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level.toUpperCase())) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`);
  }
}

function readMaxIdleMs(env: Env): number {
  const seconds = readNumber(env, 'STORE_MAX_IDLE_SECONDS', DEFAULT_MAX_IDLE_SECONDS, { min: 1, max: 3600 });
  return Math.round(seconds * 1000);
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
