import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ReplyLostError, StoreUnavailableError } from '../errors';
import { withinDeadline } from './deadline';

export interface DynamoDbOptions {
  table: string;
  /** For DynamoDB-compatible servers (dynalite, DynamoDB Local); undefined in AWS. */
  endpoint: string | undefined;
  /** How long a request waits for DynamoDB's answer before it is aborted. */
  timeoutMs: number;
  /** A client unused this long is replaced before it is used again (its sockets may be dead). */
  maxIdleMs: number;
}

type SendOptions = { abortSignal: AbortSignal };

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

/** A condition refused the write: an answer (expired, or already settled), not a failure. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * The SDK's client as the store uses it: one attempt per request, every request bounded by a
 * deadline, the client replaced after idling, and every failure a StoreUnavailableError that says
 * what happened: a ReplyLostError when the request may have been applied.
 */
export class DynamoDbClient {
  readonly #options: DynamoDbOptions;
  #client: DynamoDBDocumentClient;
  /** The client that holds the sockets (the document client's destroy() does nothing). */
  #base: DynamoDBClient;
  /** Requests under way, so an idle client is destroyed only when none still uses it. */
  #inFlight = 0;
  #lastUsedAt = Date.now();

  constructor(options: DynamoDbOptions) {
    this.#options = options;
    this.#base = createClient(options);
    this.#client = DynamoDBDocumentClient.from(this.#base);
  }

  /**
   * The SDK's own requestTimeout only warns (and its socket timeout waits for inactivity), so the
   * deadline is this client's: past it, the request is aborted and its socket destroyed, and the
   * next request gets a new one. A refused condition is thrown as the SDK's error.
   */
  async send<T>(
    operation: string,
    call: (client: DynamoDBDocumentClient, options: SendOptions) => Promise<T>,
  ): Promise<T> {
    const { timeoutMs } = this.#options;
    const abort = new AbortController();
    this.#inFlight += 1;
    try {
      const output = await withinDeadline(call(this.#freshClient(), { abortSignal: abort.signal }), timeoutMs, () => {
        abort.abort();
        return new ReplyLostError(`DynamoDB did not answer the ${operation} within ${timeoutMs} ms`);
      });
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
    if (Date.now() - this.#lastUsedAt > this.#options.maxIdleMs) {
      const idle = this.#base;
      this.#base = createClient(this.#options);
      this.#client = DynamoDBDocumentClient.from(this.#base);
      // Concurrent requests after the same idle period use this one client, not one each.
      this.#lastUsedAt = Date.now();
      // The request that found it idle is the only one here (this one is counted already).
      if (this.#inFlight <= 1) idle.destroy();
    }
    return this.#client;
  }
}

function createClient({ endpoint, timeoutMs }: DynamoDbOptions): DynamoDBClient {
  return new DynamoDBClient({
    ...(endpoint ? { endpoint } : {}),
    // One attempt: a retried ADD whose first try did land would count twice.
    maxAttempts: 1,
    // A TCP connect that hangs fails here; the whole request is bounded by send()'s deadline.
    requestHandler: { connectionTimeout: timeoutMs },
  });
}

/**
 * What an SDK error means for this service. A request may have been applied unless DynamoDB
 * answered with a 4xx status (throttled, refused, invalid) or the connection failed while
 * connecting (Node's `syscall: 'connect'`): those sent nothing, or changed nothing. A connection lost
 * under the request and a 5xx ("may have succeeded or failed") may have: a ReplyLostError.
 */
function explainFailure(operation: string, error: unknown): StoreUnavailableError {
  const name = error instanceof Error ? error.name : '';
  const problem = THROTTLING.has(name)
    ? `DynamoDB throttled the ${operation} (${name}); the table or the item is over its capacity`
    : `DynamoDB ${operation} failed`;
  const { $metadata, syscall } = (error ?? {}) as { $metadata?: { httpStatusCode?: number }; syscall?: string };
  const status = $metadata?.httpStatusCode;
  const changedNothing = (status !== undefined && status >= 400 && status < 500) || syscall === 'connect';
  return changedNothing
    ? new StoreUnavailableError(problem, { cause: error })
    : new ReplyLostError(problem, { cause: error });
}
