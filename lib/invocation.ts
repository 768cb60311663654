import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';

/**
 * Runs one invocation in a context of its own when invocations share an environment concurrently
 * (AWS_LAMBDA_MAX_CONCURRENCY is set) and nothing has opened one yet: the Lambda runtime does on
 * Managed Instances; in-process serverless-offline does not. Powertools keeps the Lambda context
 * (the request id in every log line) and pending metrics in that context, so concurrent requests
 * never log each other's ids. With one invocation at a time (classic Lambda) it just runs.
 */
export async function inOwnInvocation<T>(requestId: string | undefined, handle: () => Promise<T>): Promise<T> {
  if (!process.env.AWS_LAMBDA_MAX_CONCURRENCY) return handle();
  const store = await InvokeStore.getInstanceAsync();
  if (store.hasContext()) return handle();
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId ?? '-' }, handle);
}
