import { StoreUnavailableError } from '../errors';

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

/** A condition refused the write: an answer (expired, or already settled), not a failure. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** What an SDK error means for this service: throttling says which capacity ran out. */
export function explainFailure(operation: string, error: unknown): StoreUnavailableError {
  const name = error instanceof Error ? error.name : '';
  const problem = THROTTLING.has(name)
    ? `DynamoDB throttled the ${operation} (${name}); the table or the item is over its capacity`
    : `DynamoDB ${operation} failed`;
  return new StoreUnavailableError(problem, { cause: error });
}
