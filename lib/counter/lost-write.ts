import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { OutcomeUnknownError, type ReplyLostError, StoreUnavailableError } from '../errors';
import { logger } from '../telemetry';
import { withinDeadline } from './deadline';

/**
 * A write whose reply is lost may or may not have been applied. Each adapter makes every write
 * record its outcome under an id of its own, in the same atomic step, and can look that record up
 * (Redis: a ring per connection; DynamoDB: an attribute of the counter's item). This module holds
 * what both do with the answer.
 */

/** What a lookup found out about a write whose reply was lost. */
export type Lookup =
  | { found: 'applied'; count: number }
  /** Not applied, and it now never can be: the store refuses it from here on. */
  | { found: 'not-applied' }
  /** The record cannot tell: it says why. */
  | { found: 'unknown'; reason: string }
  /** The store's clock has not yet passed the write's deadline: ask again in `waitMs`. */
  | { found: 'too-early'; waitMs: number };

const PROCESS_ID = randomBytes(8).toString('base64url');
let written = 0;

/**
 * An id no other write of any function instance uses while its record is kept: 64 random bits per
 * process and a sequence number. Short, since every write stores one.
 */
export function newWriteId(): string {
  written += 1;
  return `${PROCESS_ID}${written.toString(36)}`;
}

const PAUSE_BEFORE_ASKING_AGAIN_MS = 50;

/** How many times, at most, a lost write's lookup is asked: once, then again each `1/LOOKUP_ASKS` of the timeout. */
export const LOOKUP_ASKS = 5;

/**
 * The lookup, asked again, in parallel, each time `everyMs` pass without an answer (at most `most`
 * times in all): the first answer wins, and it fails only when every one asked has. A lookup on a
 * connection that hangs (new connections left hanging in a fault that has since healed) then does
 * not take the whole window: the next one goes out on another connection. Only for lookups that may
 * be sent twice (Redis's reads a slot; DynamoDB's marks a write as not applied unless its record is
 * there: a second mark changes nothing).
 */
export function hedged(lookUp: () => Promise<Lookup>, everyMs: number, most = LOOKUP_ASKS): () => Promise<Lookup> {
  return () =>
    new Promise<Lookup>((resolve, reject) => {
      let asked = 0;
      let pending = 0;
      let settled = false;
      let next: NodeJS.Timeout | undefined;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(next);
        finish();
      };
      const ask = () => {
        asked += 1;
        pending += 1;
        if (asked < most) next = setTimeout(ask, everyMs);
        lookUp().then(
          (lookup) => settle(() => resolve(lookup)),
          (error: unknown) => {
            pending -= 1;
            // Every one asked so far has failed: the caller pauses and asks again.
            if (pending === 0) settle(() => reject(error));
          },
        );
      };
      ask();
    });
}

/**
 * What became of a write whose reply was lost: the number it got when the store applied it, else a
 * StoreUnavailableError that is exact (nothing was changed, and nothing will be). The lookup is
 * first sent at `from` (epoch ms) and, when it fails, sent again until `until`, when the last one
 * is given up: a reset often comes with a moment of refused connections. Only when no lookup
 * succeeds, or the record cannot tell, is the outcome unknown: an OutcomeUnknownError.
 */
export async function settleLostWrite(
  lost: ReplyLostError,
  { store, lookUp, from, until }: { store: string; lookUp: () => Promise<Lookup>; from: number; until: number },
): Promise<number> {
  let lastError: unknown;
  const cutOff = new StoreUnavailableError(`no answer to the lookup before ${new Date(until).toISOString()}`);
  if (from > Date.now()) await sleep(from - Date.now());
  for (;;) {
    let lookup: Lookup;
    try {
      // A lookup still unanswered at `until` is given up: the 503 comes in its bounded time, and
      // the window asked about is the one this says (a connection attempt that keeps moving would
      // otherwise be given more).
      lookup = await withinDeadline(lookUp(), Math.max(0, until - Date.now()), () => cutOff);
    } catch (error) {
      // The cause logged is what the store said, when it said anything: a lookup cut off at the end
      // of the window after others failed says less than they did.
      if (error !== cutOff || lastError === undefined) lastError = error;
      if (Date.now() + PAUSE_BEFORE_ASKING_AGAIN_MS >= until) break;
      await sleep(PAUSE_BEFORE_ASKING_AGAIN_MS);
      continue;
    }
    if (lookup.found === 'too-early') {
      await sleep(lookup.waitMs);
      if (Date.now() >= until) break;
      continue;
    }
    switch (lookup.found) {
      case 'applied':
        // Not an outage (the request is answered 200), but a network that drops replies is worth seeing.
        logger.warn(`${store} reply lost after the write was applied; answered from its record`, {
          count: lookup.count,
        });
        return lookup.count;
      case 'not-applied':
        throw new StoreUnavailableError(`${lost.message}; the write was not applied, and now cannot be`, {
          cause: lost.cause,
        });
      case 'unknown':
        throw new OutcomeUnknownError(`${lost.message}, and ${lookup.reason}`);
    }
  }
  throw new OutcomeUnknownError(`${lost.message}, and so did asking whether the write was applied`, {
    cause: lastError,
  });
}
