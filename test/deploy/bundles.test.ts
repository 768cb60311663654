import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagedStage } from '../support/packaged-once';
import { invokeBundle, type PackagedStage } from '../support/packaged-stage';
import { type Stack, startStack } from '../support/stack';

/** The bundle's first answer, from a fresh plain node process. */
const answer = async (handlerFile: string, env: Record<string, string>) =>
  (await invokeBundle(handlerFile, { POWERTOOLS_LOG_LEVEL: 'SILENT', HELLO_WINDOW_SECONDS: '30', ...env })).first;

const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
const AWS_SDK_MARKER = 'Amz-Date'; // a SigV4 header name, in every AWS SDK client (a string: survives minifying)
const IOREDIS_MARKER = 'Reached the max retries per request limit';
const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

describe('Bundles: stage dev (DynamoDB), each run in plain node against dynalite', () => {
  let stage: PackagedStage;
  let stack: Stack<'dynamodb'>;
  let env: Record<string, string>;

  beforeAll(async () => {
    stage = await packagedStage('dev');
    stack = await startStack({ store: 'dynamodb', offline: false });
    env = {
      ...(stack.env as Record<string, string>),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers /hello, then /hello/again, from the packaged zips', async () => {
    const hello = stage.unpack('hello');
    const again = stage.unpack('helloAgain');
    expect(await answer(again, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Expired!' });
    expect(await answer(hello, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 1' });
    expect(await answer(again, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 2' });
  });

  it('carries the AWS SDK and not ioredis', () => {
    const code = readFileSync(stage.unpack('hello'), 'utf8');
    expect(code).toContain(AWS_SDK_MARKER);
    expect(code).not.toContain(IOREDIS_MARKER);
  });
});

describe('Bundles: stage prod (ElastiCache), each run in plain node against redis-server', () => {
  let stage: PackagedStage;
  let stack: Stack<'redis'>;

  beforeAll(async () => {
    stage = await packagedStage('prod');
    stack = await startStack({ store: 'redis', offline: false });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers /hello, then /hello/again, from the packaged zips', async () => {
    const env = stack.env as Record<string, string>;
    const hello = stage.unpack('hello');
    const again = stage.unpack('helloAgain');
    expect(await answer(hello, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 1' });
    expect(await answer(again, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 2' });
  });

  it('carries ioredis and no AWS SDK', () => {
    const code = readFileSync(stage.unpack('hello'), 'utf8');
    expect(code).toContain(IOREDIS_MARKER);
    expect(code).not.toContain(AWS_SDK_MARKER);
  });

  it('loads its pre-traffic hook with the AWS SDK the Lambda runtime provides (NODE_PATH), not one of its own', async () => {
    const hook = stage.unpack('preTrafficCheck');
    const load = `import(${JSON.stringify(pathToFileURL(hook).href)}).then((m) => console.log(typeof m.handler))`;
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, ['--input-type=module', '-e', load], {
        env: { PATH: process.env.PATH, ...env },
      });
    expect(readFileSync(hook, 'utf8')).not.toContain(AWS_SDK_MARKER);
    expect((await run({ NODE_PATH: NODE_MODULES })).stdout).toBe('function\n');
    await expect(run({})).rejects.toThrow(/Cannot find module '@aws-sdk\/client-/);
  });
});
