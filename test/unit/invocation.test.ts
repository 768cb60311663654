import { setTimeout as sleep } from 'node:timers/promises';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { inOwnInvocation } from '../../lib/invocation';

describe('Function: inOwnInvocation', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('runs concurrent invocations each with its own request id when invocations share the process', async () => {
    vi.stubEnv('AWS_LAMBDA_MAX_CONCURRENCY', '10');
    const store = await InvokeStore.getInstanceAsync();
    const seen = await Promise.all(
      ['first', 'second', 'third'].map((id, index) =>
        inOwnInvocation(id, async () => {
          await sleep(10 * (3 - index)); // finish in the reverse order
          return store.getRequestId();
        }),
      ),
    );
    expect(seen).toEqual(['first', 'second', 'third']);
  });

  it('names an invocation without a request id "-"', async () => {
    vi.stubEnv('AWS_LAMBDA_MAX_CONCURRENCY', '10');
    const store = await InvokeStore.getInstanceAsync();
    expect(await inOwnInvocation(undefined, async () => store.getRequestId())).toBe('-');
  });

  it('runs inside a context the runtime already opened, keeping its request id', async () => {
    vi.stubEnv('AWS_LAMBDA_MAX_CONCURRENCY', '10');
    const store = await InvokeStore.getInstanceAsync();
    const seen = await store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: 'from-runtime' }, () =>
      inOwnInvocation('ignored', async () => store.getRequestId()),
    );
    expect(seen).toBe('from-runtime');
  });

  it('just runs the work, opening no context, with one invocation at a time (classic Lambda)', async () => {
    const store = await InvokeStore.getInstanceAsync(true);
    expect(await inOwnInvocation('ignored', async () => store.hasContext())).toBe(false);
  });
});
