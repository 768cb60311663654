import { StoreUnavailableError } from '../errors';
import type { CounterStore } from './counter-store';
import { DynamoDbConnection, type Endpoint, type GivenClient } from './dynamodb-connection';
import { isConditionFailure } from './dynamodb-errors';
import { consistentRead, healthRead, incrementUpdate, markNotAppliedUpdate, openWindowPut } from './dynamodb-item';
import { AnsweredRequests, mayHaveBeenApplied, outcomeAttribute, settleLostWrite } from './dynamodb-outcome';
import { newRequestId } from './request-id';

/**
 * One item per counter: { id, count, openedAt (ms), closesAt (ms), expiresAt (s, the table's TTL
 * attribute), and `outcome:<request id>` for recent writes (see dynamodb-outcome.ts) }.
 *
 * TTL deletes expired items lazily (up to days later), so the window is enforced in the write
 * itself: the increment is conditional on `closesAt`, and a failed condition is "Expired!". The
 * TTL attribute only cleans up.
 */
export class DynamoDbCounterStore implements CounterStore {
  readonly #table: string;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #connection: DynamoDbConnection;
  readonly #answered = new AnsweredRequests();

  constructor(target: GivenClient | Endpoint, now: () => number = Date.now) {
    this.#table = target.table;
    this.#timeoutMs = target.timeoutMs;
    this.#now = now;
    this.#connection = new DynamoDbConnection(target);
  }

  /**
   * DynamoDB cannot check a deadline against its own clock, so a PutItem that reaches it late (held
   * by the network, or by a frozen server) could reset a window opened after it. The condition
   * refuses that: a window is only replaced by a later one. A refused put is still an answer of 1:
   * it is as if this /hello came just before the newer one.
   */
  async start(key: string, windowMs: number): Promise<number> {
    const requestId = newRequestId();
    const write = openWindowPut(this.#table, key, requestId, this.#now(), windowMs);
    try {
      await this.#write(key, requestId, [], async () => {
        await this.#connection.send('PutItem', (client, options) => client.send(write, options));
        return 1;
      });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return 1;
  }

  /** Adds 1 while the window is open, and removes the records of this instance's answered requests. */
  async increment(key: string): Promise<number | null> {
    const requestId = newRequestId();
    const removed = this.#answered.take();
    const update = incrementUpdate(this.#table, key, requestId, this.#now(), removed);
    try {
      return await this.#write(key, requestId, removed, async () => {
        const { Attributes } = await this.#connection.send('UpdateItem', (client, options) =>
          client.send(update, options),
        );
        return Number(Attributes?.count);
      });
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /** Reads an item that never exists: proves the table answers and this role may use it. */
  async ping(): Promise<void> {
    const read = healthRead(this.#table);
    await this.#connection.send('GetItem', (client, options) => client.send(read, options));
  }

  /**
   * Runs a write and returns the count it got; when its answer is lost, settles it with a lookup
   * (a number recorded, or the write marked as not applied). `removed` are the records the write
   * was to remove: given back to the next write unless this one surely did not apply (a condition).
   */
  async #write(key: string, requestId: string, removed: string[], call: () => Promise<number>): Promise<number> {
    try {
      const count = await call();
      this.#answered.answered(requestId);
      return count;
    } catch (error) {
      if (isConditionFailure(error)) throw error;
      this.#answered.giveBack(removed);
      if (!(error instanceof StoreUnavailableError) || !mayHaveBeenApplied(error.cause ?? error)) throw error;
      const count = await settleLostWrite(error, this.#timeoutMs, () => this.#settle(key, requestId));
      this.#answered.answered(requestId);
      return count;
    }
  }

  /** Marks a write as not applied unless its record is there (then reads it). */
  async #settle(key: string, requestId: string): Promise<number | undefined> {
    const mark = markNotAppliedUpdate(this.#table, key, requestId);
    try {
      await this.#connection.send('UpdateItem', (client, options) => client.send(mark, options));
      return undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const read = consistentRead(this.#table, key);
    const { Item } = await this.#connection.send('GetItem', (client, options) => client.send(read, options));
    return Number(Item?.[outcomeAttribute(requestId)]);
  }
}
