import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type TestDynamoDb } from '../support/dynalite';
import { type PackagedStage, packageStage } from '../support/packaged-stage';
import { TestRedisServer } from '../support/redis-server';

const run = promisify(execFile);

/** Unzips a function's artifact where no node_modules can help it: it must stand alone. */
function unpack(stage: PackagedStage, functionName: string): string {
  const directory = mkdtempSync(join(tmpdir(), `elecle-bundle-${functionName}-`));
  execFileSync('unzip', ['-q', stage.artifact(functionName), '-d', directory]);
  return directory;
}

/** Loads a bundle in a plain `node` process and calls its handler once with an API Gateway v2 event. */
async function invoke(bundle: string, env: Record<string, string>) {
  const script = `
    const { handler } = require(${JSON.stringify(bundle)});
    const event = { version: '2.0', rawPath: '/', requestContext: { http: { method: 'GET' } } };
    handler(event).then((result) => { console.log(JSON.stringify(result)); process.exit(0); });
  `;
  const { stdout } = await run(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH, POWERTOOLS_LOG_LEVEL: 'SILENT', HELLO_WINDOW_SECONDS: '30', ...env },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { statusCode: number; body: string; headers: object };
}

const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
const AWS_SDK_MARKER = 'Amz-Date'; // a SigV4 header name, in every AWS SDK client (a string: survives minifying)
const IOREDIS_MARKER = 'Reached the max retries per request limit';

describe('Bundles: stage dev (DynamoDB), each run in plain node against dynalite', () => {
  let stage: PackagedStage;
  let dynamo: TestDynamoDb;
  let env: Record<string, string>;

  beforeAll(async () => {
    stage = await packageStage('dev');
    dynamo = await startDynalite();
    const table = await dynamo.createTable();
    env = {
      COUNTER_STORE: 'dynamodb',
      DYNAMODB_TABLE: table,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
  }, 120_000);

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('answers /hello, then /hello/again, from the packaged zips', async () => {
    const hello = join(unpack(stage, 'hello'), 'functions/hello.js');
    const again = join(unpack(stage, 'helloAgain'), 'functions/hello-again.js');
    expect(await invoke(again, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Expired!' });
    expect(await invoke(hello, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 1' });
    expect(await invoke(again, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 2' });
  });

  it('carries the AWS SDK and not ioredis', () => {
    const code = readFileSync(join(unpack(stage, 'hello'), 'functions/hello.js'), 'utf8');
    expect(code).toContain(AWS_SDK_MARKER);
    expect(code).not.toContain(IOREDIS_MARKER);
  });
});

describe('Bundles: stage prod (ElastiCache), each run in plain node against redis-server', () => {
  let stage: PackagedStage;
  let redis: TestRedisServer;

  beforeAll(async () => {
    stage = await packageStage('prod');
    redis = await TestRedisServer.start();
  }, 120_000);

  afterAll(async () => {
    await redis?.stop();
  });

  it('answers /hello, then /hello/again, from the packaged zips', async () => {
    const env = { COUNTER_STORE: 'redis', REDIS_URL: redis.url };
    const hello = join(unpack(stage, 'hello'), 'functions/hello.js');
    const again = join(unpack(stage, 'helloAgain'), 'functions/hello-again.js');
    expect(await invoke(hello, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 1' });
    expect(await invoke(again, env)).toEqual({ statusCode: 200, headers: TEXT_HEADERS, body: 'Hello ELECLE 2' });
  });

  it('carries ioredis and no AWS SDK', () => {
    const code = readFileSync(join(unpack(stage, 'hello'), 'functions/hello.js'), 'utf8');
    expect(code).toContain(IOREDIS_MARKER);
    expect(code).not.toContain(AWS_SDK_MARKER);
  });
});
