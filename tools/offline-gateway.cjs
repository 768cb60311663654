// `sls offline` made to answer as the deployed HTTP API does, and to start and stop with messages a
// person can act on. serverless-offline 14.8 has no option for any of this (docs/local-vs-api-gateway.md "Local answers
// vs API Gateway"): it reflects every Origin with credentials, answers OPTIONS 200, strips trailing
// slashes, resolves dot segments and percent-escapes, serves Range requests 206 and answers 404
// with a JSON list of every route. Local runs only: every hook here is one of `offline start`'s.
const net = require('node:net');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const Hapi = require('@hapi/hapi'); // the copy serverless-offline imports (one in node_modules)

/** What API Gateway answers when no route matches (documented for HTTP APIs). */
const NOT_FOUND = { message: 'Not Found' };

class OfflineGatewayPlugin {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options; // the CLI options object serverless-offline reads too
    this.hooks = {
      'before:offline:start:init': () => this.prepare(),
      // Runs just before serverless-offline's own (plugins run in the order serverless.yml lists them).
      'offline:start:init': () => {
        this.initStartedAt = performance.now();
      },
      // serverless-esbuild rebuilds on every edit and then spawns this event; serverless-offline's
      // cleanup then drops every instance and loads the handlers again (patches/serverless-offline*).
      'before:offline:functionsUpdated:cleanup': () => this.forgetBundles(),
    };
  }

  settings() {
    const custom = this.serverless.service.custom?.['serverless-offline'] ?? {};
    return {
      host: this.options.host ?? custom.host ?? 'localhost',
      httpPort: Number(this.options.httpPort ?? custom.httpPort ?? 3000),
      lambdaPort: this.options.lambdaPort ?? custom.lambdaPort,
      cors: this.serverless.service.provider.httpApi?.cors,
    };
  }

  async prepare() {
    const { host, httpPort, lambdaPort, cors } = this.settings();
    await this.requireFree(host, httpPort, '--httpPort');
    if (lambdaPort === undefined) {
      // serverless-offline's fixed default (3002) would make a second copy on another httpPort fail:
      // the invoke API follows the HTTP port instead (8000 -> 8002), or takes any free port.
      const derived = httpPort + 2;
      const usable = derived <= 65535 && (await isFree(host, derived));
      this.options.lambdaPort = String(usable ? derived : await anyFreePort(host));
    } else {
      await this.requireFree(host, Number(lambdaPort), '--lambdaPort');
    }
    beforeHttpServerListens((server) => {
      if (!cors) installHttpApiRules(server);
      return this.awaitInitPhase();
    });
    process.once('exit', (code) => {
      if (code === 0) process.stdout.write('serverless-offline stopped cleanly.\n');
    });
  }

  /**
   * Lambda's init phase, in-process: serverless-offline (patched, patches/) has loaded each handler
   * before its servers listen; each of this service's handler modules also exports `initialized`,
   * settled once its store has answered (lib/service.ts). The HTTP server listens once every
   * function is ready, so a first burst never waits for a connection. Worker threads load their
   * modules in the worker: nothing to wait for here.
   */
  async awaitInitPhase() {
    const functions = Object.entries(this.serverless.service.functions).filter(([, fn]) => fn.events?.length);
    await Promise.all(
      functions.map(async ([name, fn]) => {
        const initialized = this.loadedBundle(fn.handler)?.initialized;
        if (initialized === undefined) return;
        const storeAnswered = await initialized;
        const ms = Math.round(performance.now() - (this.initStartedAt ?? 0));
        process.stdout.write(
          storeAnswered
            ? `Function ${name} ready in ${ms} ms: handler loaded, counter store answering\n`
            : `Function ${name} started in ${ms} ms, but its counter store does not answer (see the log): requests answer 503 until it does\n`,
        );
      }),
    );
  }

  /** The exports of a handler's bundle, when serverless-offline has loaded it in this process. */
  loadedBundle(handler) {
    const modulePath = handler.slice(0, handler.lastIndexOf('.'));
    // serverless-esbuild points serverless-offline at its build folder through `location`.
    const location = this.options.location ?? this.serverless.service.custom?.['serverless-offline']?.location ?? '';
    return require.cache[path.resolve(this.serverless.config.servicePath, location, `${modulePath}.js`)]?.exports;
  }

  /**
   * In-process, serverless-offline `require`s each bundle once and serves the cached module ever
   * after, so a rebuilt bundle was never run: dropping the bundles from the cache before
   * serverless-offline loads the handlers again makes it load the new code (worker threads need
   * nothing: serverless-offline stops them). Each reload builds the module's store client anew; the
   * old one's connection stays open.
   */
  forgetBundles() {
    const folder = this.serverless.service.custom?.esbuild?.outputWorkFolder ?? '.esbuild';
    const bundles = `${path.resolve(this.serverless.config.servicePath, folder)}${path.sep}`;
    for (const file of Object.keys(require.cache)) {
      if (file.startsWith(bundles)) delete require.cache[file];
    }
  }

  async requireFree(host, port, option) {
    if (await isFree(host, port)) return;
    throw new this.serverless.classes.Error(
      `Port ${port} on ${host} is already in use. Stop what uses it (lsof -i :${port}), or choose another: ` +
        `npm start -- ${option} ${port === 8000 ? 8080 : port + 10}`,
    );
  }
}

/**
 * Runs `prepare(server)` on serverless-offline's HTTP server (the hapi server with its catch-all 404
 * route; the Lambda invoke server is left alone) before it listens.
 */
function beforeHttpServerListens(prepare) {
  const prototype = Object.getPrototypeOf(Hapi.server({ autoListen: false }));
  if (prototype.start.prepared) return;
  const start = prototype.start;
  prototype.start = async function startPrepared() {
    if (this.table().some((route) => route.path === '/{p*}')) await prepare(this);
    return start.call(this);
  };
  prototype.start.prepared = true;
}

/**
 * Adds the HTTP API's routing and header rules to serverless-offline's HTTP server. No CORS is
 * configured on the deployed API, so none is answered here either.
 */
function installHttpApiRules(server) {
  const routes = server.table().filter((route) => route.path !== '/{p*}');
  for (const route of routes) route.settings.response.ranges = false; // API Gateway sends the whole body
  const matchers = routes.map((route) => ({ method: route.method, pattern: pathPattern(route.path) }));

  // Routing on the path exactly as sent, before hapi's normalisation: no trailing-slash stripping, no
  // dot segments, no percent-decoding. A method must match its route: HEAD and OPTIONS do not reach GET.
  server.ext('onRequest', (request, h) => {
    const rawPath = (request.raw.req.url ?? '/').split('?')[0];
    const method = request.method.toLowerCase();
    const matched = matchers.some((m) => (m.method === method || m.method === '*') && m.pattern.test(rawPath));
    if (matched) return h.continue;
    request.app.matchesNoRoute = true;
    return h.response(NOT_FOUND).code(404).type('application/json').takeover();
  });

  // Runs after serverless-offline's own onPreResponse, which adds the CORS headers.
  server.ext('onPreResponse', (request, h) => {
    const response = request.response;
    const headers = response.isBoom ? response.output.headers : response.headers;
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase().startsWith('access-control-')) delete headers[name];
    }
    // serverless-offline turns every OPTIONS with an Origin into a 200 preflight answer.
    if (request.app.matchesNoRoute && !response.isBoom) response.code(404);
    return h.continue;
  });
}

/** A hapi route path as a regular expression over the raw path: `{id}` one segment, `{p*}`/`{p+}` the rest. */
function pathPattern(path) {
  const source = path
    .split('/')
    .map((segment) => {
      if (/^\{\w+[*+]\}$/.test(segment)) return '.+';
      if (/^\{\w+\??\}$/.test(segment)) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

function isFree(host, port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

function anyFreePort(host) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0 }, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

module.exports = OfflineGatewayPlugin;
