import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { loadPlugin, serverlessStandIn } from '../support/serverless-stand-in';

const require = createRequire(import.meta.url);
// The hapi serverless-offline serves HTTP with (the one copy in node_modules), started for real here.
const Hapi = require('@hapi/hapi') as {
  server: (options: object) => {
    route: (route: object) => void;
    start: () => Promise<void>;
    stop: () => Promise<void>;
    inject: (request: object) => Promise<{ statusCode: number; payload: string; headers: Record<string, unknown> }>;
  };
};
const OfflineGatewayPlugin = loadPlugin('offline-gateway');

// Each prepare() registers the "stopped cleanly" line for process exit; this file's are dropped.
const exitListeners = process.listeners('exit');
afterAll(() => {
  for (const listener of process.listeners('exit')) {
    if (!exitListeners.includes(listener)) process.off('exit', listener);
  }
});

/** The plugin as `sls offline start` creates it; returns the CLI options it fills in. */
function gateway(options: Record<string, unknown>, custom: Record<string, unknown> = {}, esbuild?: object) {
  const { serverless } = serverlessStandIn(
    { custom: { 'serverless-offline': custom, ...(esbuild ? { esbuild } : {}) } },
    '/service',
  );
  const plugin = new OfflineGatewayPlugin(serverless, options, {}) as unknown as {
    hooks: Record<string, () => Promise<void> | void>;
    prepare: () => Promise<void>;
  };
  return { plugin, options };
}

async function occupy(port: number): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

describe('Plugin: offline-gateway, ports', () => {
  it('derives the Lambda invoke port from the HTTP port (+2), so a second copy on another port just works', async () => {
    const httpPort = await freePort();
    const { plugin, options } = gateway({ host: '127.0.0.1', httpPort: String(httpPort) });
    await plugin.prepare();
    expect(options.lambdaPort).toBe(String(httpPort + 2));
  });

  it('takes any free invoke port when the derived one is taken', async () => {
    const httpPort = await freePort();
    const taken = await occupy(httpPort + 2).catch(() => undefined);
    try {
      const { plugin, options } = gateway({ host: '127.0.0.1', httpPort: String(httpPort) });
      await plugin.prepare();
      expect(Number(options.lambdaPort)).toBeGreaterThan(0);
      expect(options.lambdaPort).not.toBe(String(httpPort + 2));
    } finally {
      taken?.close();
    }
  });

  it('stops with one line naming a taken HTTP port and the option that moves it', async () => {
    const port = await freePort();
    const taken = await occupy(port);
    try {
      await expect(gateway({ host: '127.0.0.1', httpPort: String(port) }).plugin.prepare()).rejects.toThrow(
        `Port ${port} on 127.0.0.1 is already in use. Stop what uses it (lsof -i :${port}), or choose another: npm start -- --httpPort ${port + 10}`,
      );
    } finally {
      taken.close();
    }
  });

  it('suggests 8080 when the default port 8000 is taken', async () => {
    const taken = await occupy(8000).catch(() => undefined); // taken already is as good
    try {
      await expect(gateway({ host: '127.0.0.1' }, { httpPort: 8000 }).plugin.prepare()).rejects.toThrow(
        'Port 8000 on 127.0.0.1 is already in use. Stop what uses it (lsof -i :8000), or choose another: npm start -- --httpPort 8080',
      );
    } finally {
      taken?.close();
    }
  });

  it('takes any free invoke port when the HTTP port is so high that +2 is no port', async () => {
    const { plugin, options } = gateway({ host: '127.0.0.1', httpPort: '65534' });
    await plugin.prepare();
    expect(Number(options.lambdaPort)).toBeGreaterThan(0);
    expect(Number(options.lambdaPort)).toBeLessThanOrEqual(65535);
  });

  it('keeps an invoke port serverless.yml gives, when it is free', async () => {
    const [httpPort, lambdaPort] = [await freePort(), await freePort()];
    const { plugin, options } = gateway({}, { host: '127.0.0.1', httpPort, lambdaPort });
    await plugin.prepare();
    expect(options.lambdaPort).toBeUndefined(); // serverless-offline reads it from serverless.yml itself
  });

  it('stops naming --lambdaPort when the invoke port given is taken', async () => {
    const [httpPort, lambdaPort] = [await freePort(), await freePort()];
    const taken = await occupy(lambdaPort);
    try {
      const { plugin } = gateway({}, { host: '127.0.0.1', httpPort, lambdaPort });
      await expect(plugin.prepare()).rejects.toThrow(`Port ${lambdaPort} on 127.0.0.1 is already in use`);
      await expect(plugin.prepare()).rejects.toThrow(`--lambdaPort ${lambdaPort + 10}`);
    } finally {
      taken.close();
    }
  });
});

describe('Plugin: offline-gateway, edits', () => {
  it('makes the next request load the rebuilt bundles, and only those', async () => {
    const { plugin } = gateway({}, {}, { outputWorkFolder: '.esbuild/test-folder' });
    const cache = require.cache as Record<string, unknown>;
    const bundle = '/service/.esbuild/test-folder/.build/functions/hello.js';
    const other = '/service/node_modules/some-package/index.js';
    const elsewhere = '/service/.esbuild/other-folder/.build/functions/hello.js';
    for (const file of [bundle, other, elsewhere]) cache[file] = { loaded: true };
    try {
      await plugin.hooks['before:offline:functionsUpdated:cleanup']?.();
      expect([bundle, other, elsewhere].map((file) => file in cache)).toEqual([false, true, true]);
    } finally {
      for (const file of [bundle, other, elsewhere]) delete cache[file];
    }
  });

  it('looks in .esbuild/ when no work folder is configured', async () => {
    const { plugin } = gateway({});
    const cache = require.cache as Record<string, unknown>;
    const bundle = '/service/.esbuild/.build/functions/hello.js';
    cache[bundle] = { loaded: true };
    await plugin.hooks['before:offline:functionsUpdated:cleanup']?.();
    expect(bundle in cache).toBe(false);
  });
});

describe('Plugin: offline-gateway, answers as an HTTP API does (real hapi)', () => {
  let server: ReturnType<typeof Hapi.server>;

  beforeAll(async () => {
    const { plugin } = gateway({ host: '127.0.0.1', httpPort: String(await freePort()) });
    await plugin.prepare();
    server = Hapi.server({ host: '127.0.0.1', port: 0 });
    const hello = { method: 'GET', handler: () => 'Hello ELECLE 1' };
    server.route({ ...hello, path: '/hello' });
    server.route({
      method: 'GET',
      path: '/hello/again',
      handler: (_: unknown, h: { response: (body: string) => { header: (name: string, value: string) => unknown } }) =>
        h.response('Hello ELECLE 2').header('access-control-allow-origin', 'https://evil.example'),
    });
    // serverless-offline's catch-all, which marks the server as the HTTP one.
    server.route({ method: '*', path: '/{p*}', handler: () => ({ currentRoute: 'listing every route' }) });
    await server.start();
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
});
