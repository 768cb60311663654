import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../errors';
import type { CounterStore } from './counter-store';

/** The table's partition key; serverless.yml's table must use the same (a test checks it). */
export const KEY_ATTRIBUTE = 'id';
/** The key GET /health reads; never written. */
const HEALTH_KEY = 'health:probe';
/** Epoch seconds: the attribute the table's TTL is enabled on. */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * One item per counter: { id, count, closesAt (ms), expiresAt (s, the table's TTL attribute) }.
 *
 * TTL deletes expired items lazily (up to days later) and ADD creates a missing item, so the
 * window is enforced in the write itself: the increment is conditional on `closesAt`, and a
 * failed condition is "Expired!". The TTL attribute only cleans up.
 */
export class DynamoDbCounterStore implements CounterStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(
    target:
      | { client: DynamoDBDocumentClient; table: string }
      | { table: string; endpoint: string | undefined; timeoutMs: number },
    now: () => number = Date.now,
  ) {
    this.#table = target.table;
    this.#now = now;
    this.#client = 'client' in target ? target.client : DynamoDBDocumentClient.from(createClient(target));
  }

  async start(key: string, windowMs: number): Promise<number> {
    const closesAt = this.#now() + windowMs;
    const write = new PutCommand({
      TableName: this.#table,
      Item: { [KEY_ATTRIBUTE]: key, count: 1, closesAt, [TTL_ATTRIBUTE]: Math.ceil(closesAt / 1000) },
    });
    await unavailableOnFailure('PutItem', () => this.#client.send(write));
    return 1;
  }

  async increment(key: string): Promise<number | null> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [KEY_ATTRIBUTE]: key },
          UpdateExpression: 'ADD #count :one',
          // Also false for a missing item, so ADD never creates one.
          ConditionExpression: '#closesAt > :now',
          ExpressionAttributeNames: { '#count': 'count', '#closesAt': 'closesAt' },
          ExpressionAttributeValues: { ':one': 1, ':now': this.#now() },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.count);
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return null;
      throw new StoreUnavailableError('DynamoDB UpdateItem failed', { cause: error });
    }
  }

  /** Reads an item that never exists: proves the table answers and this role may use it. */
  async ping(): Promise<void> {
    const read = new GetCommand({ TableName: this.#table, Key: { [KEY_ATTRIBUTE]: HEALTH_KEY } });
    await unavailableOnFailure('GetItem', () => this.#client.send(read));
  }
}

async function unavailableOnFailure(operation: string, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (error) {
    throw new StoreUnavailableError(`DynamoDB ${operation} failed`, { cause: error });
  }
}

function createClient({ endpoint, timeoutMs }: { endpoint: string | undefined; timeoutMs: number }): DynamoDBClient {
  return new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    // One attempt: a retried ADD whose first try did land would count twice.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
}
