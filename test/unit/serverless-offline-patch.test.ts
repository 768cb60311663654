import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvokeStore } from '@aws/lambda-invoke-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// patches/serverless-offline+<version>.patch (patches/README.md says why each change): written
// against one version's internals. Each test runs the installed serverless-offline's own code and
// asserts what a change gives, so an upgrade that loses one fails here, naming what to redo.
const ROOT = join(import.meta.dirname, '../..');
const OFFLINE = join(ROOT, 'node_modules/serverless-offline');
const PATCH = readdirSync(join(ROOT, 'patches')).find((name) => name.startsWith('serverless-offline+'));

const offlineModule = async <T>(file: string): Promise<T> =>
  (await import(pathToFileURL(join(OFFLINE, file)).href)).default;

interface Runner {
  run(event: object, context: { awsRequestId: string }): Promise<unknown>;
}
type RunnerClass = new (options: object, env: Record<string, string>) => Runner;

describe(`Patch: ${PATCH}`, () => {
  let dir: string;
  let InProcessRunner: RunnerClass;
  /** One in-process function instance whose handler is `source` (an ES module). */
  const instance = (name: string, source: string, env: Record<string, string> = {}) => {
    writeFileSync(join(dir, `${name}.mjs`), source);
    return new InProcessRunner({ codeDir: dir, handler: `${name}.handler`, servicePath: dir, timeout: 6_000 }, env);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'elecle-offline-patch-'));
    InProcessRunner = await offlineModule('src/lambda/handler-runner/in-process-runner/InProcessRunner.js');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is written for the installed version (package.json pins it)', () => {
    const installed = JSON.parse(readFileSync(join(OFFLINE, 'package.json'), 'utf8')).version;
    const pinned = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies['serverless-offline'];
    expect({ patch: PATCH, pinned }).toEqual({ patch: `serverless-offline+${installed}.patch`, pinned: installed });
  });

  it('loads a handler once per instance: a later run no longer looks for its file', async () => {
    const runner = instance('once', 'export const handler = async () => "answered";');
    expect(await runner.run({}, { awsRequestId: '1' })).toBe('answered');
    rmSync(join(dir, 'once.mjs'));
    expect(await runner.run({}, { awsRequestId: '2' })).toBe('answered');
  });

  it("runs concurrent invocations each in its own context of the runtime's InvokeStore, which loading keeps", async () => {
    const global = globalThis as unknown as { awslambda: { InvokeStore?: unknown } | undefined };
    const before = global.awslambda;
    const store = await InvokeStore.getInstanceAsync(true);
    try {
      const runner = instance(
        'ids',
        [
          'export const handler = async (event) => {',
          '  await new Promise((resolve) => setTimeout(resolve, event.waitMs));',
          '  return globalThis.awslambda.InvokeStore.getRequestId();',
          '};',
        ].join('\n'),
      );
      const ids = await Promise.all(
        ['a', 'b', 'c'].map((id, index) => runner.run({ waitMs: 30 - 10 * index }, { awsRequestId: id })),
      );
      expect(ids).toEqual(['a', 'b', 'c']);
      expect(global.awslambda?.InvokeStore).toBe(store);
    } finally {
      global.awslambda = before;
    }
  });

  it("sets again only the environment values that another function's run changed", async () => {
    // A handler's own change to its environment lasts, as in Lambda; another function's values replace it.
    const source = [
      'export const handler = async () => {',
      '  const seen = process.env.PATCH_TEST_VALUE;',
      '  process.env.PATCH_TEST_VALUE = "changed by the handler";',
      '  return seen;',
      '};',
    ].join('\n');
    const first = instance('env-a', source, { PATCH_TEST_VALUE: 'a' });
    const second = instance('env-b', source, { PATCH_TEST_VALUE: 'b' });
    const seen = [];
    for (const runner of [first, first, second, first]) seen.push(await runner.run({}, { awsRequestId: '-' }));
    delete process.env.PATCH_TEST_VALUE;
    expect(seen).toEqual(['a', 'changed by the handler', 'b', 'a']);
  });

  it('leaves no timer pending once a handler has answered (the function timeout is cleared)', async () => {
    writeFileSync(join(dir, 'timer.mjs'), 'export const handler = async () => "answered";');
    const LambdaFunction =
      await offlineModule<new (...args: unknown[]) => { runHandler(): Promise<unknown> }>(
        'src/lambda/LambdaFunction.js',
      );
    const serverless = {
      service: { service: 'patch-test', provider: { runtime: 'nodejs24.x' }, package: {} },
      config: { servicePath: dir },
    };
    const fn = new LambdaFunction('timer', { handler: 'timer.handler', name: 'timer' }, serverless, {
      useInProcess: true,
    });
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    expect(await fn.runHandler()).toBe('answered');
    expect(timers()).toBe(before);
  });

  it('lists each route once in the route box, without an invoke URL on the HTTP port, where nothing answers it', async () => {
    const logRoutes = await offlineModule<(routes: object[]) => void>('src/utils/logRoutes.js');
    const printed: string[] = [];
    const log = console.log;
    console.log = (text: string) => printed.push(text);
    try {
      logRoutes([
        {
          invokePath: '/2015-03-31/functions/hello/invocations',
          method: 'GET',
          path: '/hello',
          server: 'http://localhost:8000',
        },
      ]);
    } finally {
      console.log = log;
    }
    expect(printed.join('')).toContain('/hello');
    expect(printed.join('')).not.toContain('/2015-03-31/');
  });
});
