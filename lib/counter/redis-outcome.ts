import { OutcomeUnknownError, StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import type { ReplyLostError } from './redis-connection';

/**
 * Every write records what it did under its request's id, in the same script: a request whose reply
 * is lost (a reset, a half-open connection, a timeout) then asks Redis what happened instead of
 * guessing. The record lives until `recordedUntil` (epoch ms), a few timeouts past the deadline:
 * long enough for the lookup, short enough to cost little memory.
 */

/**
 * The record's key. Its hash tag is the whole counter key, so both are in one hash slot (a key with
 * no braces is hashed whole): a script may touch both on a cluster (ElastiCache Serverless).
 */
export function outcomeKey(counterKey: string, requestId: string): string {
  return `{${counterKey}}:outcome:${requestId}`;
}

/** How long a record is kept after its write's deadline: the lookup's attempts, connect and reply, with room. */
export function recordedUntil(deadline: number, timeoutMs: number): number {
  return deadline + 3 * timeoutMs;
}

/** Until when a lookup that failed is tried again: a reset often comes with a moment of refused connections. */
function askAgainUntil(deadline: number, timeoutMs: number): number {
  return deadline + timeoutMs;
}

const PAUSE_BEFORE_ASKING_AGAIN_MS = 50;

/**
 * Reads a lost write's record (KEYS[1]; ARGV[1] the write's deadline, ARGV[2] when its record
 * expires), or, when there is none, leaves a marker under that key that makes the write refuse
 * itself should it still arrive: either way the answer is final. Returns the number the write
 * got, NOT_APPLIED, or TOO_LATE_TO_TELL once a record could have expired.
 */
export const SETTLE_OUTCOME = `
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if now >= tonumber(ARGV[2]) then
  return -2
end
local recorded = redis.call('GET', KEYS[1])
if recorded then
  return tonumber(recorded)
end
if now <= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], 0, 'PXAT', ARGV[2])
end
return 0
`;

const NOT_APPLIED = 0;
const TOO_LATE_TO_TELL = -2;

/** Sends SETTLE_OUTCOME for a write: what the lookup needs from the store's connection. */
export type SettleOutcome = (key: string, deadline: number, recordedUntil: number) => Promise<number>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * What became of a write whose reply was lost: its number when Redis applied it, else a
 * StoreUnavailableError that is exact (nothing was changed, and nothing will be). A lookup that
 * fails is tried again for up to one more timeout past the deadline; only when none succeeds is the
 * outcome unknown: an OutcomeUnknownError, answered no earlier than the write's deadline, after
 * which Redis refuses it.
 */
export async function settleLostWrite(
  lost: ReplyLostError,
  record: { key: string; until: number },
  timeoutMs: number,
  settle: SettleOutcome,
): Promise<number> {
  let outcome: number;
  for (;;) {
    try {
      outcome = await settle(record.key, lost.deadline, record.until);
      break;
    } catch (error) {
      if (Date.now() + PAUSE_BEFORE_ASKING_AGAIN_MS >= askAgainUntil(lost.deadline, timeoutMs)) {
        await sleep(lost.deadline + 1 - Date.now());
        throw new OutcomeUnknownError(`${lost.message}, and so did asking whether the write was applied`, {
          cause: error,
        });
      }
      await sleep(PAUSE_BEFORE_ASKING_AGAIN_MS);
    }
  }
  if (outcome > 0) {
    // Not an outage (the request is answered 200), but a network that drops replies is worth seeing.
    logger.warn('Redis reply lost after the write was applied; answered from its record', { count: outcome });
    return outcome;
  }
  if (outcome === NOT_APPLIED) {
    throw new StoreUnavailableError(`${lost.message}; the write was not applied, and now cannot be`, {
      cause: lost.cause,
    });
  }
  if (outcome === TOO_LATE_TO_TELL) {
    throw new OutcomeUnknownError(`${lost.message}, and its record had expired when asked`, { cause: lost.cause });
  }
  throw new OutcomeUnknownError(`${lost.message}; its record reads ${outcome}`, { cause: lost.cause });
}
