import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// patches/serverless-offline+<version>.patch loads each handler once per instance, runs each
// invocation in its own InvokeStore context, lists each route once, and drops three per-request
// costs (timers, process.env, log writes). It was written against one version's internals: an
// upgrade must fail here, naming what to redo, not quietly lose the speed.
const ROOT = join(import.meta.dirname, '../..');
const PATCH = readdirSync(join(ROOT, 'patches')).find((name) => name.startsWith('serverless-offline+'));
const offlineRoot = join(createRequire(import.meta.url).resolve('serverless-offline'), '../..');

/** What each patched file must contain, as the patch wrote it. */
const PATCHED: Record<string, string[]> = {
  'src/lambda/LambdaFunction.js': ['timer?.cancel()'],
  'src/events/http/HttpServer.js': ['// incoming request message, in one write', 'log.notice(`\\n\\n'],
  'src/lambda/handler-runner/in-process-runner/InProcessRunner.js': [
    'this.#handlerFunction ??= await load(',
    'assignEnv(this.#env)',
    'inOwnContext(context.awsRequestId, () =>',
  ],
  'src/lambda/handler-runner/in-process-runner/aws-lambda-ric/UserFunction.js': ['...globalThis.awslambda,'],
  'src/utils/logRoutes.js': ['.map(({ method, path, server }) =>'],
};

describe('Patch: serverless-offline', () => {
  it('is written for the installed version (package.json pins it)', () => {
    const installed = JSON.parse(readFileSync(join(offlineRoot, 'package.json'), 'utf8')).version;
    const pinned = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies['serverless-offline'];

    expect({ patch: PATCH, pinned }).toEqual({
      patch: `serverless-offline+${installed}.patch`,
      pinned: installed,
    });
  });

  it.each(Object.entries(PATCHED))('is applied to %s', (file, markers) => {
    const source = readFileSync(join(offlineRoot, file), 'utf8');
    for (const marker of markers) {
      expect(source.includes(marker), `node_modules/serverless-offline/${file} lacks "${marker}": redo ${PATCH}`).toBe(
        true,
      );
    }
  });
});
