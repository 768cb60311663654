import type { Redis, Result } from 'ioredis';
import { READ_OUTCOME } from './redis-outcome';
import { RECORD_OUTCOME } from './redis-outcome-ring';

/**
 * Every write carries a deadline (ARGV[1], epoch ms): the time after which this service may have
 * answered 503 for it. Redis checks it against its own clock before changing anything, so a
 * command that reaches Redis late (it was frozen, or the network held it) does nothing instead
 * of taking effect after the client was told it failed; a lost reply is read back only after it
 * (redis-outcome.ts). -1 means "too late, nothing done".
 */
const UNLESS_PAST_DEADLINE = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then
  return -1
end
`;

/**
 * Sets the counter to 1 and (re)opens the window of ARGV[4] ms; records 1 as this write's outcome
 * (KEYS[2], ARGV[2] and ARGV[3]: see RECORD_OUTCOME).
 */
export const OPEN_WINDOW = `${UNLESS_PAST_DEADLINE}
redis.call('SET', KEYS[1], 1, 'PX', ARGV[4])
local count = 1
${RECORD_OUTCOME}
return count
`;

/**
 * INCR creates a missing key (with no expiry), so the check and the increment must be one step:
 * Redis runs a script without interleaving other commands. INCR keeps the key's expiry.
 * PTTL is -2 for a missing key and -1 for one without expiry; neither may count.
 * The number is recorded as this write's outcome; a closed window changed nothing and records nothing.
 */
export const INCREMENT_WHILE_OPEN = `${UNLESS_PAST_DEADLINE}
if redis.call('PTTL', KEYS[1]) > 0 then
  local count = redis.call('INCR', KEYS[1])
  ${RECORD_OUTCOME}
  return count
end
return false
`;

/** What a write script returns when Redis received it after its deadline. */
export const PAST_DEADLINE = -1;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    openWindow(
      key: string,
      ringKey: string,
      deadline: number,
      seq: number,
      refresh: string,
      windowMs: number,
    ): Result<number, Context>;
    incrementWhileOpen(
      key: string,
      ringKey: string,
      deadline: number,
      seq: number,
      refresh: string,
    ): Result<number | null, Context>;
    readOutcome(ringKey: string, deadline: number, seq: number): Result<number, Context>;
  }
}

/** Defines this store's scripts on a client (ioredis sends EVALSHA, and EVAL after a NOSCRIPT). */
export function defineCounterCommands(client: Redis): void {
  client.defineCommand('openWindow', { numberOfKeys: 2, lua: OPEN_WINDOW });
  client.defineCommand('incrementWhileOpen', { numberOfKeys: 2, lua: INCREMENT_WHILE_OPEN });
  client.defineCommand('readOutcome', { numberOfKeys: 1, lua: READ_OUTCOME });
}
