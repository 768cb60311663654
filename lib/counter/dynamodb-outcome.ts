import { OutcomeUnknownError, StoreUnavailableError } from '../errors';
import { sleep } from '../sleep';
import { logger } from '../telemetry';

/**
 * Each write records, in the counter's own item and in the same request, the number it got under
 * an attribute named after its request id. When the answer is lost (a timeout, a reset, a 5xx), a
 * lookup writes a marker under that name unless a record is there, and every write is conditional
 * on the marker's absence: either the lookup finds the number (200), or the write can no longer
 * land (an exact 503). DynamoDB has no bound on how late a write may be applied; the marker needs
 * none, and stays until the next /hello replaces the item.
 */

/** The attribute holding a request's outcome: its number, or NOT_APPLIED (a lookup's marker). */
export const outcomeAttribute = (requestId: string): string => `outcome:${requestId}`;

export const NOT_APPLIED = 0;

/** At most this many answered requests' records are removed by one write (the expression stays small). */
const MOST_REMOVED_PER_WRITE = 50;

/**
 * The ids of this instance's requests whose answers arrived: their records are no longer needed,
 * and the instance's next write removes them, so the item holds about one record per instance.
 */
export class AnsweredRequests {
  #ids: string[] = [];

  answered(requestId: string): void {
    this.#ids.push(requestId);
  }

  /** Hands up to MOST_REMOVED_PER_WRITE ids to a write; give them back if it may not have applied. */
  take(): string[] {
    return this.#ids.splice(0, MOST_REMOVED_PER_WRITE);
  }

  giveBack(ids: string[]): void {
    this.#ids.push(...ids);
  }
}

/**
 * Whether a failed call may have been applied: anything but an answer from DynamoDB with a 4xx
 * status (throttled, refused, invalid), or a connection that failed while connecting (Node's
 * `syscall: 'connect'`): those sent nothing, or changed nothing. A timeout, a connection lost
 * under the request and a 5xx ("may have succeeded or failed") may all have.
 */
export function mayHaveBeenApplied(error: unknown): boolean {
  const { $metadata, syscall } = (error ?? {}) as { $metadata?: { httpStatusCode?: number }; syscall?: string };
  const status = $metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500) return false;
  return syscall !== 'connect';
}

/** Writes the marker unless a record is there; returns what is there when one is (undefined: marked). */
export type SettleOutcome = () => Promise<number | undefined>;

const PAUSE_BEFORE_ASKING_AGAIN_MS = 50;

/**
 * What became of a write whose answer was lost: its number when DynamoDB applied it, else a
 * StoreUnavailableError that is exact. A lookup that fails is tried again for up to `askForMs`;
 * when none succeeds, the outcome is unknown (OutcomeUnknownError).
 */
export async function settleLostWrite(
  lost: StoreUnavailableError,
  askForMs: number,
  settle: SettleOutcome,
): Promise<number> {
  const askUntil = Date.now() + askForMs;
  for (;;) {
    let recorded: number | undefined;
    try {
      recorded = await settle();
    } catch (error) {
      if (Date.now() + PAUSE_BEFORE_ASKING_AGAIN_MS >= askUntil) {
        throw new OutcomeUnknownError(`${lost.message}, and so did asking whether the write was applied`, {
          cause: error,
        });
      }
      await sleep(PAUSE_BEFORE_ASKING_AGAIN_MS);
      continue;
    }
    // NaN: the item was deleted between the marker's refusal and the read (a flush): nothing left.
    if (recorded !== undefined && recorded > NOT_APPLIED) {
      logger.warn('DynamoDB answer lost after the write was applied; answered from its record', { count: recorded });
      return recorded;
    }
    throw new StoreUnavailableError(`${lost.message}; the write was not applied, and now cannot be`, {
      cause: lost.cause,
    });
  }
}
