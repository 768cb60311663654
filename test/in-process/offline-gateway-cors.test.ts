import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { loadPlugin, serverlessStandIn } from '../support/serverless-stand-in';

const require = createRequire(import.meta.url);
const Hapi = require('@hapi/hapi') as {
  server: (options: object) => {
    route: (route: object) => void;
    start: () => Promise<void>;
    stop: () => Promise<void>;
    inject: (request: object) => Promise<{ statusCode: number }>;
  };
};

// A file of its own: once a test in a process installs the HTTP API rules on hapi, they stay.
describe('Plugin: offline-gateway, with CORS configured in serverless.yml', () => {
  it("leaves serverless-offline's routing and CORS alone, since the deployed API would answer CORS too", async () => {
    const { serverless } = serverlessStandIn({ provider: { httpApi: { cors: true } } }, '/service');
    const Plugin = loadPlugin('offline-gateway');
    const plugin = new Plugin(serverless, { host: '127.0.0.1', httpPort: String(await freePort()) }, {}) as unknown as {
      prepare: () => Promise<void>;
    };
    const exitListeners = process.listeners('exit');
    await plugin.prepare();
    const server = Hapi.server({ host: '127.0.0.1', port: 0 });
    server.route({ method: 'GET', path: '/hello', handler: () => 'Hello ELECLE 1' });
    server.route({ method: '*', path: '/{p*}', handler: () => 'catch-all' });
    await server.start();
    try {
      // hapi's own routing: a trailing slash reaches the catch-all, not the API Gateway 404.
      expect((await server.inject({ method: 'GET', url: '/hello/' })).statusCode).toBe(200);
    } finally {
      await server.stop();
      // prepare() registers the "stopped cleanly" line for process exit; this test's is dropped.
      for (const listener of process.listeners('exit')) {
        if (!exitListeners.includes(listener)) process.off('exit', listener);
      }
    }
  });
});
