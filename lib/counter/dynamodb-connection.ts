import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../errors';
import { settleWithin } from './deadline';
import { explainFailure, isConditionFailure } from './dynamodb-errors';

export interface Endpoint {
  table: string;
  endpoint: string | undefined;
  /** How long a request waits for DynamoDB's answer before it is aborted. */
  timeoutMs: number;
  /** A client unused this long is replaced before it is used again (its sockets may be dead). */
  maxIdleMs: number;
}

export type GivenClient = { client: DynamoDBDocumentClient; table: string; timeoutMs: number };

type SendOptions = { abortSignal: AbortSignal };

/** The store's DynamoDB client: every request bounded by a deadline, the client replaced after idling. */
export class DynamoDbConnection {
  readonly #endpoint: Endpoint | undefined;
  readonly #timeoutMs: number;
  #client: DynamoDBDocumentClient;
  /** The client that holds the sockets (the document client's destroy() does nothing); ours only. */
  #base: DynamoDBClient | undefined;
  /** Requests under way, so an idle client is destroyed only when none still uses it. */
  #inFlight = 0;
  #lastUsedAt: number;

  constructor(target: GivenClient | Endpoint) {
    this.#timeoutMs = target.timeoutMs;
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
   * The SDK's own requestTimeout only warns (and its socket timeout waits for inactivity), so the
   * deadline is this store's: past it, the request is aborted and its socket destroyed, and the
   * next request gets a new one.
   */
  async send<T>(
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
      throw explainFailure(operation, error);
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

function createClient({ endpoint, timeoutMs }: Endpoint): DynamoDBClient {
  return new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    // One attempt: a retried ADD whose first try did land would count twice.
    maxAttempts: 1,
    // A TCP connect that hangs fails here; the whole request is bounded by send()'s deadline.
    requestHandler: { connectionTimeout: timeoutMs },
  });
}
