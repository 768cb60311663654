import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../errors';
import type { CounterStore } from './counter-store';
import { settleWithin } from './deadline';

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
 * One item per counter: { id, count, openedAt (ms), closesAt (ms), expiresAt (s, the table's TTL attribute) }.
 *
 * TTL deletes expired items lazily (up to days later) and ADD creates a missing item, so the
 * window is enforced in the write itself: the increment is conditional on `closesAt`, and a
 * failed condition is "Expired!". The TTL attribute only cleans up.
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
   * it is as if this /hello came just before the newer one.
   */
  async start(key: string, windowMs: number): Promise<number> {
    const openedAt = this.#now();
    const closesAt = openedAt + windowMs;
    const write = new PutCommand({
      TableName: this.#table,
      Item: { [KEY_ATTRIBUTE]: key, count: 1, openedAt, closesAt, [TTL_ATTRIBUTE]: Math.ceil(closesAt / 1000) },
      ConditionExpression: 'attribute_not_exists(#openedAt) OR #openedAt < :openedAt',
      ExpressionAttributeNames: { '#openedAt': 'openedAt' },
      ExpressionAttributeValues: { ':openedAt': openedAt },
    });
    try {
      await this.#send('PutItem', (client, options) => client.send(write, options));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return 1;
  }

  async increment(key: string): Promise<number | null> {
    const now = this.#now();
    const update = new UpdateCommand({
      TableName: this.#table,
      Key: { [KEY_ATTRIBUTE]: key },
      UpdateExpression: 'ADD #count :one',
      // Also false for a missing item, so ADD never creates one. The second half keeps an increment
      // that reaches DynamoDB late (after its request was answered 503) out of a window opened after it.
      ConditionExpression: '#closesAt > :now AND (attribute_not_exists(#openedAt) OR #openedAt <= :sentBy)',
      ExpressionAttributeNames: { '#count': 'count', '#closesAt': 'closesAt', '#openedAt': 'openedAt' },
      ExpressionAttributeValues: { ':one': 1, ':now': now, ':sentBy': now + CLOCK_TOLERANCE_MS },
      ReturnValues: 'UPDATED_NEW',
    });
    try {
      const { Attributes } = await this.#send('UpdateItem', (client, options) => client.send(update, options));
      return Number(Attributes?.count);
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
