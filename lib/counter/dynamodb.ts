import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../errors';
import type { CounterStore } from './counter-store';
import { settleWithin } from './deadline';
import {
  AnsweredRequests,
  mayHaveBeenApplied,
  NOT_APPLIED,
  outcomeAttribute,
  settleLostWrite,
} from './dynamodb-outcome';
import { newRequestId } from './request-id';

/** The table's partition key; serverless.yml's table must use the same (a test checks it). */
export const KEY_ATTRIBUTE = 'id';
/** The key GET /health reads; never written. */
const HEALTH_KEY = 'health:probe';
/** Epoch seconds: the attribute the table's TTL is enabled on. */
export const TTL_ATTRIBUTE = 'expiresAt';

/** How far apart the clocks of two function instances may be (Amazon Time Sync keeps them far closer). */
const CLOCK_TOLERANCE_MS = 100;

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

interface Endpoint {
  table: string;
  endpoint: string | undefined;
  /** How long a request waits for DynamoDB's answer before it is aborted. */
  timeoutMs: number;
  /** A client unused this long is replaced before it is used again (its sockets may be dead). */
  maxIdleMs: number;
}

type SendOptions = { abortSignal: AbortSignal };

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
  readonly #endpoint: Endpoint | undefined;
  readonly #timeoutMs: number;
  #client: DynamoDBDocumentClient;
  /** The client that holds the sockets (the document client's destroy() does nothing); ours only. */
  #base: DynamoDBClient | undefined;
  /** Requests under way, so an idle client is destroyed only when none still uses it. */
  #inFlight = 0;
  #lastUsedAt: number;
  readonly #answered = new AnsweredRequests();

  constructor(
    target: { client: DynamoDBDocumentClient; table: string; timeoutMs: number } | Endpoint,
    now: () => number = Date.now,
  ) {
    this.#table = target.table;
    this.#timeoutMs = target.timeoutMs;
    this.#now = now;
    this.#endpoint = 'client' in target ? undefined : target;
    if ('client' in target) {
      this.#client = target.client;
    } else {
      this.#base = createClient(target);
      this.#client = DynamoDBDocumentClient.from(this.#base);
    }
    this.#lastUsedAt = Date.now();
  }

  /**
   * DynamoDB cannot check a deadline against its own clock, so a PutItem that reaches it late (held
   * by the network, or by a frozen server) could reset a window opened after it. The condition
   * refuses that: a window is only replaced by a later one. A refused put is still an answer of 1:
   * it is as if this /hello came just before the newer one. The new item drops every older record.
   */
  async start(key: string, windowMs: number): Promise<number> {
    const requestId = newRequestId();
    const openedAt = this.#now();
    const closesAt = openedAt + windowMs;
    const write = new PutCommand({
      TableName: this.#table,
      Item: {
        [KEY_ATTRIBUTE]: key,
        count: 1,
        openedAt,
        closesAt,
        [TTL_ATTRIBUTE]: Math.ceil(closesAt / 1000),
        [outcomeAttribute(requestId)]: 1,
      },
      ConditionExpression:
        '(attribute_not_exists(#openedAt) OR #openedAt < :openedAt) AND attribute_not_exists(#record)',
      ExpressionAttributeNames: { '#openedAt': 'openedAt', '#record': outcomeAttribute(requestId) },
      ExpressionAttributeValues: { ':openedAt': openedAt },
    });
    try {
      await this.#write(key, requestId, [], async () => {
        await this.#send('PutItem', (client, options) => client.send(write, options));
        return 1;
      });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return 1;
  }

  /**
   * `SET count = count + 1` (not ADD, which would create a missing item; the condition refuses one
   * anyway) also records the new count under this request's id, and removes the records of this
   * instance's requests that were answered since its last write.
   */
  async increment(key: string): Promise<number | null> {
    const requestId = newRequestId();
    const now = this.#now();
    const removed = this.#answered.take();
    const removals = removed.map((_, index) => `#answered${index}`);
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
        '#record': outcomeAttribute(requestId),
        ...Object.fromEntries(removed.map((id, index) => [removals[index], outcomeAttribute(id)])),
      },
      ExpressionAttributeValues: { ':one': 1, ':now': now, ':sentBy': now + CLOCK_TOLERANCE_MS },
      ReturnValues: 'UPDATED_NEW',
    });
    try {
      return await this.#write(key, requestId, removed, async () => {
        const { Attributes } = await this.#send('UpdateItem', (client, options) => client.send(update, options));
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
    await this.#send('GetItem', (client, options) => client.send(read, options));
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

  /**
   * Marks a write as not applied unless its record is there (then reads it). On a missing item the
   * marker comes with a closed window and a TTL, so nothing counts in it and it is cleaned up.
   */
  async #settle(key: string, requestId: string): Promise<number | undefined> {
    const mark = new UpdateCommand({
      TableName: this.#table,
      Key: { [KEY_ATTRIBUTE]: key },
      UpdateExpression:
        'SET #record = :notApplied, #closesAt = if_not_exists(#closesAt, :closed), #expiresAt = if_not_exists(#expiresAt, :soon)',
      ConditionExpression: 'attribute_not_exists(#record)',
      ExpressionAttributeNames: {
        '#record': outcomeAttribute(requestId),
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
      await this.#send('UpdateItem', (client, options) => client.send(mark, options));
      return undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const read = new GetCommand({ TableName: this.#table, Key: { [KEY_ATTRIBUTE]: key }, ConsistentRead: true });
    const { Item } = await this.#send('GetItem', (client, options) => client.send(read, options));
    return Number(Item?.[outcomeAttribute(requestId)]);
  }

  /**
   * The SDK's own requestTimeout only warns (and its socket timeout waits for inactivity), so the
   * deadline is this store's: past it, the request is aborted and its socket destroyed, and the
   * next request gets a new one.
   */
  async #send<T>(
    operation: string,
    call: (client: DynamoDBDocumentClient, options: SendOptions) => Promise<T>,
  ): Promise<T> {
    const abort = new AbortController();
    this.#inFlight += 1;
    try {
      const output = await settleWithin(
        call(this.#freshClient(), { abortSignal: abort.signal }),
        this.#timeoutMs,
        () => {
          abort.abort();
          return new StoreUnavailableError(`DynamoDB did not answer the ${operation} within ${this.#timeoutMs} ms`);
        },
      );
      this.#lastUsedAt = Date.now();
      return output;
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      if (isConditionFailure(error)) {
        this.#lastUsedAt = Date.now();
        throw error;
      }
      const name = error instanceof Error ? error.name : '';
      const problem = THROTTLING.has(name)
        ? `DynamoDB throttled the ${operation} (${name}); the table or the item is over its capacity`
        : `DynamoDB ${operation} failed`;
      throw new StoreUnavailableError(problem, { cause: error });
    } finally {
      this.#inFlight -= 1;
    }
  }

  /** A frozen Lambda instance or a quiet network may have lost an idle keep-alive socket without a word. */
  #freshClient(): DynamoDBDocumentClient {
    if (this.#endpoint && Date.now() - this.#lastUsedAt > this.#endpoint.maxIdleMs) {
      const idle = this.#base;
      this.#base = createClient(this.#endpoint);
      this.#client = DynamoDBDocumentClient.from(this.#base);
      // Concurrent requests after the same idle period use this one client, not one each.
      this.#lastUsedAt = Date.now();
      // The request that found it idle is the only one here (this one is counted already).
      if (this.#inFlight <= 1) idle?.destroy();
    }
    return this.#client;
  }
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function createClient({ endpoint, timeoutMs }: Endpoint): DynamoDBClient {
  return new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    // One attempt: a retried ADD whose first try did land would count twice.
    maxAttempts: 1,
    // A TCP connect that hangs fails here; the whole request is bounded by #send's deadline.
    requestHandler: { connectionTimeout: timeoutMs },
  });
}
