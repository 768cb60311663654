import { ConfigError } from './errors';

export type StoreConfig = { kind: 'memory' } | { kind: 'redis'; url: string; timeoutMs: number };

export interface Config {
  /** How long a window opened by GET /hello stays open. */
  windowMs: number;
  store: StoreConfig;
}

type Env = Record<string, string | undefined>;

const STORE_KINDS = ['memory', 'redis'] as const;
const DEFAULT_WINDOW_SECONDS = 30;
const MAX_WINDOW_SECONDS = 24 * 60 * 60;
const DEFAULT_STORE_TIMEOUT_MS = 500;

/**
 * Reads and validates the environment once. Throws a ConfigError naming the first bad variable.
 * An empty value counts as unset, because serverless.yml passes `${env:NAME, ''}` through.
 */
export function readConfig(env: Env): Config {
  const windowSeconds = readNumber(env, 'HELLO_WINDOW_SECONDS', DEFAULT_WINDOW_SECONDS, {
    min: 0.001,
    max: MAX_WINDOW_SECONDS,
  });
  return { windowMs: Math.round(windowSeconds * 1000), store: readStoreConfig(env) };
}

function readStoreConfig(env: Env): StoreConfig {
  const redisUrl = value(env, 'REDIS_URL');
  const kind = value(env, 'COUNTER_STORE') ?? (redisUrl ? 'redis' : 'memory');
  if (!isStoreKind(kind)) {
    throw new ConfigError('COUNTER_STORE', `must be one of ${STORE_KINDS.join(', ')} (got "${kind}")`);
  }
  if (kind === 'memory') {
    if (env.AWS_LAMBDA_FUNCTION_NAME && !env.IS_OFFLINE) {
      throw new ConfigError(
        'COUNTER_STORE',
        'is "memory", which cannot work in AWS Lambda: every instance would count on its own. Set REDIS_URL.',
      );
    }
    return { kind };
  }
  if (!redisUrl) {
    throw new ConfigError('REDIS_URL', 'is required when COUNTER_STORE is "redis" (e.g. redis://localhost:6379)');
  }
  return {
    kind,
    url: parseRedisUrl(redisUrl),
    timeoutMs: readNumber(env, 'STORE_TIMEOUT_MS', DEFAULT_STORE_TIMEOUT_MS, { min: 10, max: 60_000, integer: true }),
  };
}

function parseRedisUrl(raw: string): string {
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
  return raw;
}

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

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

function isStoreKind(kind: string): kind is StoreConfig['kind'] {
  return (STORE_KINDS as readonly string[]).includes(kind);
}

/** The URL with any password replaced, fit for a log line. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '****';
  return url.toString();
}

/** One line for the startup log: which store, where. */
export function describeStore({ store }: Config): string {
  return store.kind === 'redis' ? `redis at ${redactUrl(store.url)}` : 'memory (this process only)';
}
