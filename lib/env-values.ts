import { ConfigError } from './errors';

export type Env = Record<string, string | undefined>;

/** A number from the environment, within bounds; the fallback when unset. Errors name the variable. */
export function readNumber(
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
export function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}
