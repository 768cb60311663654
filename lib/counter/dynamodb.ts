import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ReplyLostError } from '../errors';
import type { CounterStore } from './counter-store';
import { DynamoDbClient, type DynamoDbOptions, isConditionFailure } from './dynamodb-client';
import { hedged, LOOKUP_ASKS, type Lookup, newWriteId, settleLostWrite } from './lost-write';

/**
 * One item per counter: { id, count, openedAt (ms), closesAt (ms), expiresAt (s, the table's TTL
 * attribute), and `outcome:<write id>` for recent writes }.
 *
 * TTL deletes expired items lazily (up to days later), so the window is enforced in the write
 * itself: the increment is conditional on `closesAt`, and a failed condition is "Expired!". The
 * TTL attribute only cleans up.
 *
 * Each write records, in the counter's own item and in the same request, the number it got under
 * an attribute named after its write id. When the answer is lost (a timeout, a reset, a 5xx), a
 * lookup writes a marker under that name unless a record is there, and every write is conditional
 * on the marker's absence: either the lookup finds the number (200), or the write can no longer
 * land (an exact 503). DynamoDB has no bound on how late a write may be applied; the marker needs
 * none, and stays until the next /hello replaces the item.
 */

/** The table's partition key; serverless.yml's table must use the same (a test checks it). */
export const KEY_ATTRIBUTE = 'id';
/** Epoch seconds: the attribute the table's TTL is enabled on. */
export const TTL_ATTRIBUTE = 'expiresAt';
/** The key GET /health reads; never written. */
const HEALTH_KEY = 'health:probe';
/** How far apart the clocks of two function instances may be (Amazon Time Sync keeps them far closer). */
const CLOCK_TOLERANCE_MS = 100;
/** A lookup's marker in place of a record: the write was not applied. */
const NOT_APPLIED = 0;
/** At most this many answered writes' records are removed by one write (the expression stays small). */
const MOST_REMOVED_PER_WRITE = 50;

/** The attribute holding a write's outcome: its number, or NOT_APPLIED (a lookup's marker). */
const outcomeAttribute = (writeId: string): string => `outcome:${writeId}`;

export class DynamoDbCounterStore implements CounterStore {
  readonly #table: string;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #client: DynamoDbClient;
  /**
   * This instance's writes whose answers arrived: their records are no longer needed, and the
   * instance's next increment removes them, so the item holds about one record per instance.
   */
  #answered: string[] = [];

  constructor(options: DynamoDbOptions, now: () => number = Date.now) {
    this.#table = options.table;
    this.#timeoutMs = options.timeoutMs;
    this.#now = now;
    this.#client = new DynamoDbClient(options);
  }

  /**
   * DynamoDB cannot check a deadline against its own clock, so a PutItem that reaches it late (held
   * by the network, or by a frozen server) could reset a window opened after it. The condition
   * refuses that: a window is only replaced by a later one. A refused put is still an answer of 1:
   * it is as if this /hello came just before the newer one. The new item drops every older record.
   */
  async start(key: string, windowMs: number): Promise<number> {
    const writeId = newWriteId();
    const openedAt = this.#now();
    const closesAt = openedAt + windowMs;
    const put = new PutCommand({
      TableName: this.#table,
      Item: {
        [KEY_ATTRIBUTE]: key,
        count: 1,
        openedAt,
        closesAt,
        [TTL_ATTRIBUTE]: Math.ceil(closesAt / 1000),
        [outcomeAttribute(writeId)]: 1,
      },
      ConditionExpression:
        '(attribute_not_exists(#openedAt) OR #openedAt < :openedAt) AND attribute_not_exists(#record)',
      ExpressionAttributeNames: { '#openedAt': 'openedAt', '#record': outcomeAttribute(writeId) },
      ExpressionAttributeValues: { ':openedAt': openedAt },
    });
    try {
      await this.#write(key, writeId, [], async () => {
        await this.#client.send('PutItem', (client, options) => client.send(put, options));
        return 1;
      });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return 1;
  }

  /**
   * `SET count = count + 1` (not ADD, which would create a missing item; the condition refuses one
   * anyway) also records the new count under this write's id, and removes the records of this
   * instance's answered writes.
   */
  async increment(key: string): Promise<number | null> {
    const writeId = newWriteId();
    const removed = this.#answered.splice(0, MOST_REMOVED_PER_WRITE);
    const removals = removed.map((_, index) => `#answered${index}`);
    const now = this.#now();
    const update = new UpdateCommand({
      TableName: this.#table,
      Key: { [KEY_ATTRIBUTE]: key },
      UpdateExpression: `SET #count = #count + :one, #record = #count + :one${removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''}`,
      // Also false for a missing item, so no item is created. The second half keeps an increment
      // that reaches DynamoDB late (after its request was answered 503) out of a window opened after
      // it; the last, out of this window once a lookup has marked it as not applied.
      ConditionExpression:
        '#closesAt > :now AND (attribute_not_exists(#openedAt) OR #openedAt <= :sentBy) AND attribute_not_exists(#record)',
      ExpressionAttributeNames: {
        '#count': 'count',
        '#closesAt': 'closesAt',
        '#openedAt': 'openedAt',
        '#record': outcomeAttribute(writeId),
        ...Object.fromEntries(removed.map((id, index) => [removals[index], outcomeAttribute(id)])),
      },
      ExpressionAttributeValues: { ':one': 1, ':now': now, ':sentBy': now + CLOCK_TOLERANCE_MS },
      ReturnValues: 'UPDATED_NEW',
    });
    try {
      return await this.#write(key, writeId, removed, async () => {
        const { Attributes } = await this.#client.send('UpdateItem', (client, options) => client.send(update, options));
        return Number(Attributes?.count);
      });
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /** Reads an item that never exists: proves the table answers and this role may use it. */
  async ping(): Promise<void> {
    const read = new GetCommand({ TableName: this.#table, Key: { [KEY_ATTRIBUTE]: HEALTH_KEY } });
    await this.#client.send('GetItem', (client, options) => client.send(read, options));
  }

  /**
   * Runs a write and returns the count it got; when its answer is lost, settles it with a lookup
   * (a number recorded, or the write marked as not applied). `removed` are the records the write
   * was to remove: given back to the next write when this one failed, except when its condition
   * refused it (a closed, missing or newer window): that item is replaced whole by the next /hello's
   * put, or deleted by its TTL, records and all.
   */
  async #write(key: string, writeId: string, removed: string[], call: () => Promise<number>): Promise<number> {
    try {
      const count = await call();
      this.#answered.push(writeId);
      return count;
    } catch (error) {
      if (isConditionFailure(error)) throw error;
      this.#answered.push(...removed);
      if (!(error instanceof ReplyLostError)) throw error;
      const now = Date.now();
      const count = await settleLostWrite(error, {
        store: 'DynamoDB',
        from: now,
        until: now + this.#timeoutMs,
        // Asked again on another connection each fifth of the timeout that passes without an answer.
        lookUp: hedged(() => this.#lookUp(key, writeId), this.#timeoutMs / LOOKUP_ASKS),
      });
      this.#answered.push(writeId);
      return count;
    }
  }

  /**
   * Marks a write as not applied unless its record is there, then reads the record. On a missing
   * item the marker comes with a closed window and a TTL, so nothing counts in it and it is cleaned up.
   */
  async #lookUp(key: string, writeId: string): Promise<Lookup> {
    const mark = new UpdateCommand({
      TableName: this.#table,
      Key: { [KEY_ATTRIBUTE]: key },
      UpdateExpression:
        'SET #record = :notApplied, #closesAt = if_not_exists(#closesAt, :closed), #expiresAt = if_not_exists(#expiresAt, :soon)',
      ConditionExpression: 'attribute_not_exists(#record)',
      ExpressionAttributeNames: {
        '#record': outcomeAttribute(writeId),
        '#closesAt': 'closesAt',
        '#expiresAt': TTL_ATTRIBUTE,
      },
      ExpressionAttributeValues: {
        ':notApplied': NOT_APPLIED,
        ':closed': 0,
        ':soon': Math.ceil(Date.now() / 1000) + 60,
      },
    });
    try {
      await this.#client.send('UpdateItem', (client, options) => client.send(mark, options));
      return { found: 'not-applied' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const read = new GetCommand({ TableName: this.#table, Key: { [KEY_ATTRIBUTE]: key }, ConsistentRead: true });
    const { Item } = await this.#client.send('GetItem', (client, options) => client.send(read, options));
    const recorded = Number(Item?.[outcomeAttribute(writeId)]);
    // NaN: the item was deleted between the marker's refusal and the read (a flush): nothing left.
    return recorded > NOT_APPLIED ? { found: 'applied', count: recorded } : { found: 'not-applied' };
  }
}
