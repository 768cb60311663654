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

/** One SDK client and its sockets, with the requests it still has under way. */
interface Generation {
  base: DynamoDBClient;
  client: DynamoDBDocumentClient;
  inFlight: number;
  retired: boolean;
}

/**
 * The SDK's client as the store uses it: one attempt per request, every request bounded by a
 * deadline, and every failure a StoreUnavailableError that says what happened: a ReplyLostError
 * when the request may have been applied. The client (its keep-alive sockets) is replaced after
 * idling, and after a request whose answer was lost: the fault that lost it (a network that drops
 * packets, a reset) has usually struck the other sockets of its pool too, and the lookup that
 * settles the request must not be handed one of them.
 */
export class DynamoDbClient {
  readonly #options: DynamoDbOptions;
  #current: Generation;
  #lastUsedAt = Date.now();

  constructor(options: DynamoDbOptions) {
    this.#options = options;
    this.#current = newGeneration(options);
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
    const generation = this.#fresh();
    generation.inFlight += 1;
    try {
      const output = await withinDeadline(call(generation.client, { abortSignal: abort.signal }), timeoutMs, () => {
        abort.abort();
        return new ReplyLostError(`DynamoDB did not answer the ${operation} within ${timeoutMs} ms`);
      });
      this.#lastUsedAt = Date.now();
      return output;
    } catch (error) {
      if (isConditionFailure(error)) {
        this.#lastUsedAt = Date.now();
        throw error;
      }
      const failure = error instanceof StoreUnavailableError ? error : explainFailure(operation, error);
      if (failure instanceof ReplyLostError) this.#retire(generation);
      throw failure;
    } finally {
      generation.inFlight -= 1;
      if (generation.retired && generation.inFlight === 0) generation.base.destroy();
    }
  }

  /** A frozen Lambda instance or a quiet network may have lost an idle keep-alive socket without a word. */
  #fresh(): Generation {
    if (Date.now() - this.#lastUsedAt > this.#options.maxIdleMs) {
      this.#retire(this.#current);
      // Concurrent requests after the same idle period use this one client, not one each.
      this.#lastUsedAt = Date.now();
    }
    return this.#current;
  }

  /** Requests from now on use a new client; this one is destroyed once its last request has settled. */
  #retire(generation: Generation): void {
    if (generation.retired) return;
    generation.retired = true;
    if (generation === this.#current) this.#current = newGeneration(this.#options);
    if (generation.inFlight === 0) generation.base.destroy();
  }
}

function newGeneration(options: DynamoDbOptions): Generation {
  const base = createClient(options);
  return { base, client: DynamoDBDocumentClient.from(base), inFlight: 0, retired: false };
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
