import { describe, expect, it } from 'vitest';
import { loadPlugin, ServerlessError, type ServiceShape, serverlessStandIn } from '../support/serverless-stand-in';

const ConfigCheckPlugin = loadPlugin('serverless-config-check');
const ROUTES = [{ httpApi: { method: 'GET', path: '/hello' } }];

/** Runs one of the plugin's hooks on a service; returns what it logged, or throws as the hook does. */
async function runHook(hook: string, shape: ServiceShape, options: Record<string, unknown> = {}) {
  const { serverless, log, logged } = serverlessStandIn(shape);
  const plugin = new ConfigCheckPlugin(serverless, options, { log });
  const run = plugin.hooks[hook];
  if (!run) throw new Error(`no hook ${hook}`);
  await run();
  return { logged, serverless };
}

const offlineStart = (shape: ServiceShape, options?: Record<string, unknown>) =>
  runHook('before:offline:start:init', shape, options);
const packaging = (shape: ServiceShape) => runHook('before:package:initialize', shape);

const inProcess = { 'serverless-offline': { useInProcess: true } };

describe('Plugin: serverless-config-check', () => {
  it('says at offline startup which store and window every route function uses', async () => {
    const { logged } = await offlineStart({
      provider: { environment: { REDIS_URL: 'redis://:secret@localhost:6379', HELLO_WINDOW_SECONDS: '30' } },
      functions: { hello: { events: ROUTES }, helloAgain: { events: ROUTES } },
      custom: inProcess,
    });
    expect(logged).toEqual([
      { level: 'notice', message: 'Counter store: redis at redis://:****@localhost:6379; window 30 s' },
    ]);
  });

  it('stops offline startup with the function and the variable when a value is wrong', async () => {
    const start = offlineStart({
      provider: { environment: {} },
      functions: {
        hello: { events: ROUTES },
        helloAgain: { events: ROUTES, environment: { HELLO_WINDOW_SECONDS: 'ten' } },
      },
      custom: inProcess,
    });
    await expect(start).rejects.toThrow(ServerlessError);
    await expect(start).rejects.toThrow(
      'Configuration of function helloAgain: HELLO_WINDOW_SECONDS must be a number from 0.001 to 86400 (got "ten")',
    );
  });

  it('does not check a function that serves no route (the deploy hook)', async () => {
    const { logged } = await offlineStart({
      functions: { hook: { environment: { HELLO_WINDOW_SECONDS: 'ten' } } },
      custom: inProcess,
    });
    expect(logged).toEqual([]);
  });

  it('stops offline startup when the memory store would run in worker threads', async () => {
    const start = offlineStart({ functions: { hello: { events: ROUTES } }, custom: {} });
    await expect(start).rejects.toThrow('COUNTER_STORE is "memory", which needs serverless-offline in-process');
  });

  it('lets the memory store run in-process, whether the CLI or serverless.yml asks for it', async () => {
    const fromYml = await offlineStart({ functions: { hello: { events: ROUTES } }, custom: inProcess });
    expect(fromYml.logged.map((line) => line.message)).toEqual([
      'Counter store: memory (this process only); window 30 s',
    ]);
    const fromCli = await offlineStart({ functions: { hello: { events: ROUTES } } }, { useInProcess: true });
    expect(fromCli.logged.map((line) => line.message)).toEqual([
      'Counter store: memory (this process only); window 30 s',
    ]);
  });

  it('refuses to package the local stage, naming the stages that can be', async () => {
    await expect(packaging({ stage: 'local', functions: { hello: { events: ROUTES } } })).rejects.toThrow(
      'The "local" stage is for sls offline only. Package or deploy --stage dev (DynamoDB) or --stage prod (ElastiCache).',
    );
  });

  it('refuses to package a stage whose functions would use the memory store in Lambda', async () => {
    await expect(packaging({ stage: 'dev', functions: { hello: { events: ROUTES } } })).rejects.toThrow(
      'Configuration of function hello: COUNTER_STORE is "memory", which cannot work in AWS Lambda',
    );
  });

  it('checks a value CloudFormation resolves at deploy time for its shape only', async () => {
    const { logged } = await packaging({
      stage: 'prod',
      provider: { environment: { REDIS_URL: { 'Fn::Join': ['', ['rediss://', { Ref: 'Cache' }]] } } },
      functions: { hello: { events: ROUTES } },
    });
    expect(logged.map((line) => line.message)).toEqual([
      'Counter store: redis at rediss://resolved-at-deploy.invalid:6379; window 30 s',
    ]);
  });

  it('refuses a value CloudFormation would resolve to something other than a string', async () => {
    const pack = packaging({
      stage: 'prod',
      provider: { environment: { COUNTER_STORE: { Ref: 'StoreKind' }, REDIS_URL: 'rediss://cache:6379' } },
      functions: { hello: { events: ROUTES } },
    });
    await expect(pack).rejects.toThrow('Configuration of function hello: COUNTER_STORE must be one of');
  });
});
