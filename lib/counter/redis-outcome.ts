import { OutcomeUnknownError, StoreUnavailableError } from '../errors';
import { sleep } from '../sleep';
import { logger } from '../telemetry';
import type { ReplyLostError } from './redis-connection';
import { type OutcomeSlot, RING_SLOTS } from './redis-outcome-ring';

/**
 * Reads a lost write's slot (KEYS[1] the ring; ARGV[1] the write's deadline, ARGV[2] its seq).
 * Returns the number the write got; NOT_APPLIED; TOO_EARLY - ms while the deadline has not passed
 * on Redis's clock (the write could still land); OVERWRITTEN when a later write took the slot; or
 * GONE when the ring is not there at all: evicted (a storage maximum on ElastiCache Serverless
 * evicts keys with a TTL), flushed, or its connection's first write never arrived. Only the last
 * would mean "not applied", so none of them is taken to.
 */
export const READ_OUTCOME = `
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if now <= tonumber(ARGV[1]) then
  return ${-1_000_000} - (tonumber(ARGV[1]) + 1 - now)
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -3
end
local slot = redis.call('GETRANGE', KEYS[1], (tonumber(ARGV[2]) % ${RING_SLOTS}) * 16, (tonumber(ARGV[2]) % ${RING_SLOTS}) * 16 + 15)
if #slot < 16 then
  return 0
end
local seq, count = struct.unpack('>dd', slot)
if seq == tonumber(ARGV[2]) then
  return count
end
if seq > tonumber(ARGV[2]) then
  return -2
end
return 0
`;

const NOT_APPLIED = 0;
const OVERWRITTEN = -2;
const GONE = -3;
const TOO_EARLY = -1_000_000;

/** Sends READ_OUTCOME: what the lookup needs from the store's connection. */
export type ReadOutcome = (ringKey: string, deadline: number, seq: number) => Promise<number>;

/** Until when a lookup that failed is tried again: a reset often comes with a moment of refused connections. */
const askAgainUntil = (deadline: number, timeoutMs: number) => deadline + timeoutMs;
const PAUSE_BEFORE_ASKING_AGAIN_MS = 50;

/**
 * What became of a write whose reply was lost: its number when Redis applied it, else a
 * StoreUnavailableError that is exact (nothing was changed, and nothing will be). Asked once the
 * deadline has passed; a lookup that fails is tried again for up to one more timeout. Only when
 * none succeeds is the outcome unknown: an OutcomeUnknownError.
 */
export async function settleLostWrite(
  lost: ReplyLostError,
  slot: OutcomeSlot,
  timeoutMs: number,
  read: ReadOutcome,
): Promise<number> {
  let lastError: unknown;
  await sleep(lost.deadline + 1 - Date.now());
  while (Date.now() < askAgainUntil(lost.deadline, timeoutMs)) {
    let outcome: number;
    try {
      outcome = await read(slot.ringKey, lost.deadline, slot.seq);
    } catch (error) {
      lastError = error;
      await sleep(PAUSE_BEFORE_ASKING_AGAIN_MS);
      continue;
    }
    if (outcome <= TOO_EARLY) {
      // Redis's clock is behind this host's: wait until it too has passed the deadline.
      await sleep(TOO_EARLY - outcome);
      continue;
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
    if (outcome === GONE) {
      throw new OutcomeUnknownError(`${lost.message}, and its connection's record of outcomes is gone (evicted?)`);
    }
    if (outcome === OVERWRITTEN) {
      throw new OutcomeUnknownError(`${lost.message}, and later writes have taken its record's place`);
    }
  }
  throw new OutcomeUnknownError(`${lost.message}, and so did asking whether the write was applied`, {
    cause: lastError,
  });
}
