import { StoreUnavailableError } from '../errors';
import { loggableError } from './redis-redaction';

export function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/** What Redis's error replies mean for this service, and whether the connection should be replaced. */
export function explainReplyError(message: string): { problem: string; reconnect: boolean } {
  // Redis 6 wraps an error raised inside a script ("ERR Error running script ... -READONLY ..."),
  // Redis 7 passes its code on: match the code anywhere in the message.
  if (/\bOOM\b/.test(message)) {
    return { problem: 'Redis is out of memory (maxmemory with noeviction) and refused the write', reconnect: false };
  }
  if (/\bREADONLY\b/.test(message)) {
    // After a failover the old primary is a replica; a new connection finds the new primary.
    return { problem: 'Redis is a read-only replica (after a failover?); reconnecting', reconnect: true };
  }
  if (/\bLOADING\b/.test(message)) {
    return { problem: 'Redis is loading its dataset into memory', reconnect: false };
  }
  return { problem: `Redis answered with an error: ${message}`, reconnect: false };
}

/**
 * What to do about credentials Redis refused while connecting, or undefined for any other error.
 * The cause keeps Redis's reply but not the command it answered.
 */
export function credentialsRefused(error: unknown): StoreUnavailableError | undefined {
  if (!isReplyError(error)) return undefined;
  const reply = loggableError(error);
  if (/^NOAUTH\b/.test(error.message)) {
    return new StoreUnavailableError(
      'Redis requires a password, and REDIS_URL has none: use redis://:PASSWORD@host:port (rediss:// for TLS)',
      { cause: reply },
    );
  }
  if (/^WRONGPASS\b/.test(error.message)) {
    return new StoreUnavailableError('Redis refused the user name or password in REDIS_URL', { cause: reply });
  }
  return undefined;
}
