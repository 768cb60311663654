import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { loadPlugin, type ServiceShape, serverlessStandIn } from '../support/serverless-stand-in';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The hapi serverless-offline serves HTTP with (its dependency), started for real here.
const Hapi = createRequire(join(ROOT, 'node_modules/serverless-offline/package.json'))('@hapi/hapi') as {
  server: (options: object) => HapiServer;
};
interface HapiServer {
  route: (route: object) => void;
  start: () => Promise<void>;
  stop: () => Promise<void>;
  inject: (request: object) => Promise<{ statusCode: number; payload: string; headers: Record<string, unknown> }>;
}
// serverless-offline's in-process loader, which imports a handler's bundle when a request needs it.
const { load } = createRequire(join(ROOT, 'node_modules/serverless-offline/package.json'))(
  './src/lambda/handler-runner/in-process-runner/aws-lambda-ric/UserFunction.js',
) as { load: (root: string, handler: string) => Promise<() => Promise<string>> };
const OfflinePlugin = loadPlugin('offline/plugin');
const { installHttpApiRules } = createRequire(import.meta.url)('../../tools/offline/http-api-rules.cjs') as {
  installHttpApiRules: (server: HapiServer) => void;
};

type Plugin = {
  hooks: Record<string, () => Promise<unknown> | unknown>;
  prepare: () => Promise<void>;
  answerAsHttpApi: () => void;
};

/** The plugin as `sls offline start` creates it, on a service in `servicePath`; returns the CLI options it fills in. */
function offlinePlugin(options: Record<string, unknown>, shape: ServiceShape = {}, servicePath = '/service') {
  const { serverless, log, logged } = serverlessStandIn(shape, servicePath);
  const plugin = new OfflinePlugin(serverless, options, { log }) as unknown as Plugin;
  return { plugin, options, serverless, logged };
}

// Each prepare() registers the "stopped cleanly" line for process exit; this file's are dropped.
const exitListeners = process.listeners('exit');
afterAll(() => {
  for (const listener of process.listeners('exit')) {
    if (!exitListeners.includes(listener)) process.off('exit', listener);
  }
});

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

describe('Plugin: offline, ports', () => {
  const prepared = async (options: Record<string, unknown>, custom: Record<string, unknown> = {}) => {
    const { plugin } = offlinePlugin(options, { custom: { 'serverless-offline': custom } });
    await plugin.prepare();
    return options;
  };

  it('derives the Lambda invoke port from the HTTP port (+2), so a second copy on another port just works', async () => {
    const httpPort = await freePort();
    expect((await prepared({ host: '127.0.0.1', httpPort: String(httpPort) })).lambdaPort).toBe(String(httpPort + 2));
  });

  it('takes any free invoke port when the derived one is taken', async () => {
    const httpPort = await freePort();
    const taken = await occupy(httpPort + 2).catch(() => undefined);
    try {
      const { lambdaPort } = await prepared({ host: '127.0.0.1', httpPort: String(httpPort) });
      expect(Number(lambdaPort)).toBeGreaterThan(0);
      expect(lambdaPort).not.toBe(String(httpPort + 2));
    } finally {
      taken?.close();
    }
  });

  it('stops with one line naming a taken HTTP port and the option that moves it', async () => {
    const port = await freePort();
    const taken = await occupy(port);
    try {
      await expect(prepared({ host: '127.0.0.1', httpPort: String(port) })).rejects.toThrow(
        `Port ${port} on 127.0.0.1 is already in use. Stop what uses it (lsof -i :${port}), or choose another: npm start -- --httpPort ${port + 10}`,
      );
    } finally {
      taken.close();
    }
  });

  it('suggests 8080 when the default port 8000 is taken', async () => {
    const taken = await occupy(8000).catch(() => undefined); // taken already is as good
    try {
      await expect(prepared({ host: '127.0.0.1' }, { httpPort: 8000 })).rejects.toThrow(
        'Port 8000 on 127.0.0.1 is already in use. Stop what uses it (lsof -i :8000), or choose another: npm start -- --httpPort 8080',
      );
    } finally {
      taken?.close();
    }
  });

  it('takes any free invoke port when the HTTP port is so high that +2 is no port', async () => {
    const { lambdaPort } = await prepared({ host: '127.0.0.1', httpPort: '65534' });
    expect(Number(lambdaPort)).toBeGreaterThan(0);
    expect(Number(lambdaPort)).toBeLessThanOrEqual(65535);
  });

  it('keeps an invoke port serverless.yml gives, when it is free', async () => {
    const [httpPort, lambdaPort] = [await freePort(), await freePort()];
    const options = await prepared({}, { host: '127.0.0.1', httpPort, lambdaPort });
    expect(options.lambdaPort).toBeUndefined(); // serverless-offline reads it from serverless.yml itself
  });

  it('stops naming --lambdaPort when the invoke port given is taken', async () => {
    const [httpPort, lambdaPort] = [await freePort(), await freePort()];
    const taken = await occupy(lambdaPort);
    try {
      const start = prepared({}, { host: '127.0.0.1', httpPort, lambdaPort });
      await expect(start).rejects.toThrow(`Port ${lambdaPort} on 127.0.0.1 is already in use`);
      await expect(start).rejects.toThrow(`--lambdaPort ${lambdaPort + 10}`);
    } finally {
      taken.close();
    }
  });
});

/**
 * A function bundle as serverless-esbuild writes it: an ES module whose top-level await is the init
 * phase. It records, in this process, what its init saw and whether that await settled.
 */
function writeBundle(file: string, answer: string, { fails = false } = {}): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(
    file,
    [
      'const init = { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, window: process.env.HELLO_WINDOW_SECONDS, settled: false };',
      '(globalThis.initPhases ??= []).push(init);',
      'await new Promise((resolve) => setTimeout(resolve, 50));',
      fails ? "throw new Error('no store configured');" : '',
      'init.settled = true;',
      `export const handler = async () => ${JSON.stringify(answer)};`,
    ].join('\n'),
  );
}

const initPhases = () => (globalThis as { initPhases?: object[] }).initPhases ?? [];
const ROUTE = [{ httpApi: { method: 'GET', path: '/hello' } }];

describe('Plugin: offline, init phase (in-process)', () => {
  let service: string;
  let printed: string[];
  let write: typeof process.stdout.write;

  beforeAll(() => {
    write = process.stdout.write;
  });

  afterEach(() => {
    process.stdout.write = write;
    rmSync(service, { recursive: true, force: true });
    delete (globalThis as { initPhases?: object[] }).initPhases;
  });

  /** The plugin on a service of two route functions and the deploy hook, bundled in `service`. */
  function inProcessService() {
    service = mkdtempSync(join(tmpdir(), 'elecle-init-phase-'));
    const bundles = join(service, '.esbuild/.build/functions');
    writeBundle(join(bundles, 'hello.mjs'), 'build 1');
    writeBundle(join(bundles, 'hello-again.mjs'), 'build 1');
    writeBundle(join(bundles, 'hook.mjs'), 'build 1');
    const { plugin } = offlinePlugin(
      { useInProcess: true },
      {
        provider: { environment: { HELLO_WINDOW_SECONDS: '30' }, region: 'eu-west-1' },
        functions: {
          hello: { handler: 'functions/hello.handler', name: 'svc-hello', events: ROUTE },
          helloAgain: {
            handler: 'functions/hello-again.handler',
            name: 'svc-helloAgain',
            events: ROUTE,
            environment: { HELLO_WINDOW_SECONDS: '10' },
          },
          hook: { handler: 'functions/hook.handler', name: 'svc-hook' },
        },
        custom: { 'serverless-offline': { location: '.esbuild/.build' } },
      },
      service,
    );
    printed = [];
    process.stdout.write = ((chunk: string) => {
      printed.push(chunk);
      return true;
    }) as typeof process.stdout.write;
    return {
      plugin,
      bundle: (name: string) => join(bundles, `${name}.mjs`),
      /** The handler as serverless-offline loads it for a request. */
      loadHandler: (name: string) => load(join(service, '.esbuild/.build'), `functions/${name}.handler`),
    };
  }

  it("runs each route function's init phase to its end, one after another, each in its own environment", async () => {
    const { plugin } = inProcessService();
    await plugin.hooks['offline:start:init']?.();
    expect(initPhases()).toEqual([
      { functionName: 'svc-hello', window: '30', settled: true },
      { functionName: 'svc-helloAgain', window: '10', settled: true },
    ]);
    expect(printed).toEqual([
      expect.stringMatching(/^Function hello initialised in \d+ ms\n$/),
      expect.stringMatching(/^Function helloAgain initialised in \d+ ms\n$/),
    ]);
  });

  it('hands serverless-offline, loading the same bundle for a request, the module it initialised', async () => {
    const { plugin, loadHandler } = inProcessService();
    await plugin.hooks['offline:start:init']?.();
    expect(await (await loadHandler('hello'))()).toBe('build 1');
    expect(initPhases()).toHaveLength(2);
  });

  it('after a rebuild, runs the new bundles’ init phase, and a later import gets the new build', async () => {
    const { plugin, bundle, loadHandler } = inProcessService();
    await plugin.hooks['offline:start:init']?.();
    writeBundle(bundle('hello'), 'build 2');
    await plugin.hooks['before:offline:functionsUpdated:cleanup']?.();
    await plugin.hooks['after:offline:functionsUpdated:cleanup']?.();
    expect(await (await loadHandler('hello'))()).toBe('build 2');
    expect(initPhases()).toHaveLength(4);
    expect(printed.slice(2)).toEqual([
      expect.stringMatching(/^Function hello initialised in \d+ ms \(rebuilt\)\n$/),
      expect.stringMatching(/^Function helloAgain initialised in \d+ ms \(rebuilt\)\n$/),
    ]);
  });

  it('says which function failed its init phase, and runs the others', async () => {
    const { plugin, bundle } = inProcessService();
    writeBundle(bundle('hello'), 'never', { fails: true });
    await plugin.hooks['offline:start:init']?.();
    expect(printed).toEqual([
      'Function hello failed its init phase: no store configured\n',
      expect.stringMatching(/^Function helloAgain initialised in \d+ ms\n$/),
    ]);
  });

  it('runs no init phase in worker mode, where each worker loads its function', async () => {
    const { plugin, serverless } = offlinePlugin({}, { functions: { hello: { handler: 'x.handler', events: ROUTE } } });
    service = mkdtempSync(join(tmpdir(), 'elecle-init-phase-'));
    serverless.config.servicePath = service;
    await plugin.hooks['offline:start:init']?.();
    expect(initPhases()).toEqual([]);
  });

  it('removes the bundles an earlier build left, which serverless-offline would load before this build’s', async () => {
    service = mkdtempSync(join(tmpdir(), 'elecle-init-phase-'));
    const stale = join(service, '.esbuild/.build/functions/hello.js');
    const elsewhere = join(service, '.esbuild/keep.txt');
    mkdirSync(join(stale, '..'), { recursive: true });
    writeFileSync(stale, 'exports.handler = () => "stale"');
    writeFileSync(elsewhere, '');
    const { plugin } = offlinePlugin({ host: '127.0.0.1', httpPort: String(await freePort()) }, {}, service);
    await plugin.prepare();
    expect([existsSync(stale), existsSync(elsewhere)]).toEqual([false, true]);
  });
});

describe('Plugin: offline, request ids (in-process)', () => {
  const global = globalThis as unknown as { awslambda: { InvokeStore?: unknown } | undefined };
  const before = global.awslambda;
  afterAll(() => {
    global.awslambda = before;
  });

  it('gives each function AWS_LAMBDA_MAX_CONCURRENCY and installs a Lambda InvokeStore that keeps invocations apart', async () => {
    const { plugin, serverless } = offlinePlugin(
      { host: '127.0.0.1', httpPort: String(await freePort()), useInProcess: true },
      {
        functions: {
          hello: { events: ROUTE },
          helloAgain: { events: ROUTE, environment: { AWS_LAMBDA_MAX_CONCURRENCY: '10' } },
        },
      },
    );
    await plugin.prepare();
    expect(serverless.service.functions.hello?.environment).toEqual({ AWS_LAMBDA_MAX_CONCURRENCY: '1000' });
    expect(serverless.service.functions.helloAgain?.environment).toEqual({ AWS_LAMBDA_MAX_CONCURRENCY: '10' });
    expect(global.awslambda?.InvokeStore).toHaveProperty('als');
  });

  it('leaves the environment alone in worker mode', async () => {
    const { plugin, serverless } = offlinePlugin(
      { host: '127.0.0.1', httpPort: String(await freePort()) },
      { functions: { hello: { events: ROUTE } } },
    );
    await plugin.prepare();
    expect(serverless.service.functions.hello?.environment).toBeUndefined();
  });
});

describe('Plugin: offline, answers as an HTTP API does (real hapi)', () => {
  let server: HapiServer;

  /** A hapi server with serverless-offline's shape: the routes, then its catch-all listing them. */
  async function offlineLikeServer(): Promise<HapiServer> {
    const created = Hapi.server({ host: '127.0.0.1', port: 0 });
    created.route({ method: 'GET', path: '/hello', handler: () => 'Hello ELECLE 1' });
    created.route({
      method: 'GET',
      path: '/hello/again',
      handler: (_: unknown, h: { response: (body: string) => { header: (name: string, value: string) => unknown } }) =>
        h.response('Hello ELECLE 2').header('access-control-allow-origin', 'https://evil.example'),
    });
    created.route({ method: '*', path: '/{p*}', handler: () => ({ currentRoute: 'listing every route' }) });
    await created.start();
    return created;
  }

  /** The plugin's after-start hook, finding the server as it does on serverless-offline's plugin. */
  function answerAsHttpApi(on: HapiServer, shape: ServiceShape = {}) {
    const { plugin, serverless } = offlinePlugin({}, shape);
    class ServerlessOffline {
      internals() {
        return { getApiGatewayServer: () => on };
      }
    }
    Object.assign(serverless, { pluginManager: { getPlugins: () => [{}, new ServerlessOffline()] } });
    plugin.answerAsHttpApi();
  }

  beforeAll(async () => {
    server = await offlineLikeServer();
    answerAsHttpApi(server);
  });

  afterAll(async () => {
    await server?.stop();
  });

  const ask = (method: string, url: string, headers: Record<string, string> = {}) =>
    server.inject({ method, url, headers });

  it('serves the exact route', async () => {
    expect(await ask('GET', '/hello')).toMatchObject({ statusCode: 200, payload: 'Hello ELECLE 1' });
  });

  it.each([
    ['GET', '/hello/'],
    ['GET', '/hell%6F'],
    ['GET', '/x/../hello'],
    ['GET', '/./hello'],
    ['HEAD', '/hello'],
    ['POST', '/hello'],
    ['GET', '/nothing'],
  ])('answers %s %s 404 {"message":"Not Found"}, as API Gateway does', async (method, url) => {
    const answer = await ask(method, url);
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    if (method !== 'HEAD') expect(JSON.parse(answer.payload)).toEqual({ message: 'Not Found' });
  });

  it('answers a preflight OPTIONS 404 with no CORS header (no CORS is configured)', async () => {
    const answer = await ask('OPTIONS', '/hello', {
      origin: 'https://evil.example',
      'access-control-request-method': 'GET',
    });
    expect(answer.statusCode).toBe(404);
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('strips every access-control- header a route added', async () => {
    const answer = await ask('GET', '/hello/again', { origin: 'https://evil.example' });
    expect(answer.statusCode).toBe(200);
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('answers a Range request with the whole body', async () => {
    expect(await ask('GET', '/hello', { range: 'bytes=0-4' })).toMatchObject({
      statusCode: 200,
      payload: 'Hello ELECLE 1',
    });
  });

  it("leaves serverless-offline's routing alone when serverless.yml configures CORS, since the deployed API would answer CORS too", async () => {
    const withCors = await offlineLikeServer();
    try {
      answerAsHttpApi(withCors, { provider: { httpApi: { cors: true } } });
      // hapi's own routing: a trailing slash reaches the route, not the API Gateway 404.
      expect((await withCors.inject({ method: 'GET', url: '/hello/' })).statusCode).toBe(200);
    } finally {
      await withCors.stop();
    }
  });

  it('rules a route by its parameters as hapi does: {id} one segment, {path*} the rest', async () => {
    const withParams = Hapi.server({ host: '127.0.0.1', port: 0 });
    withParams.route({ method: 'GET', path: '/items/{id}', handler: () => 'one' });
    withParams.route({ method: 'GET', path: '/files/{path*}', handler: () => 'rest' });
    installHttpApiRules(withParams);
    const status = async (url: string) => (await withParams.inject({ method: 'GET', url })).statusCode;
    expect([await status('/items/7'), await status('/items/7/8'), await status('/files/a/b')]).toEqual([200, 404, 200]);
  });
});
