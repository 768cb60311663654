// `sls offline` as this service runs it locally: each function's init phase before the server
// listens and again after an edit, answers as the deployed HTTP API gives them, request ids kept
// apart, and ports and stopping that say what to do. Every hook here is one of `offline start`'s, or
// of `offline functionsUpdated`, which serverless-esbuild runs after a rebuild.
const { choosePorts } = require('./ports.cjs');
const { InitPhase } = require('./init-phase.cjs');
const { installHttpApiRules } = require('./http-api-rules.cjs');
const { provideInvokeStore } = require('./invoke-store.cjs');

class OfflinePlugin {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.options = options; // the CLI options object serverless-offline reads too
    this.log = log;
    this.initPhase = new InitPhase(serverless, options, (line) => process.stdout.write(line));
    this.hooks = {
      'before:offline:start:init': () => this.prepare(),
      // Runs before serverless-offline's own, which starts the servers (plugins run in serverless.yml's
      // order), and after serverless-esbuild's build (a before: hook).
      'offline:start:init': () => this.inProcess() && this.initPhase.run(),
      'after:offline:start:init': () => this.answerAsHttpApi(),
      'before:offline:functionsUpdated:cleanup': () => this.initPhase.rebuilt(),
      // serverless-offline's cleanup dropped every function instance: the new bundles' init phase.
      'after:offline:functionsUpdated:cleanup': () => this.inProcess() && this.initPhase.run(' (rebuilt)'),
    };
  }

  settings() {
    const custom = this.serverless.service.custom?.['serverless-offline'] ?? {};
    return {
      host: this.options.host ?? custom.host ?? 'localhost',
      httpPort: Number(this.options.httpPort ?? custom.httpPort ?? 3000),
      lambdaPort: this.options.lambdaPort ?? custom.lambdaPort,
    };
  }

  inProcess() {
    return this.options.useInProcess ?? this.serverless.service.custom?.['serverless-offline']?.useInProcess ?? false;
  }

  async prepare() {
    const lambdaPort = await choosePorts(this.settings(), (message) => {
      throw new this.serverless.classes.Error(message);
    });
    if (lambdaPort !== undefined) this.options.lambdaPort = String(lambdaPort);
    this.initPhase.forgetEarlierBuilds();
    if (this.inProcess()) await provideInvokeStore(this.serverless, this.log);
    process.once('exit', (code) => {
      if (code === 0) process.stdout.write('serverless-offline stopped cleanly.\n');
    });
  }

  /**
   * The HTTP API's rules on serverless-offline's HTTP server, unless CORS is configured (serverless-
   * offline's own CORS answers then stand). serverless-offline creates that server and starts it in
   * one hook; this runs next, before the process has read any connection (the hooks in between are
   * promise steps: nothing lets the event loop poll), so no request is served without the rules.
   */
  answerAsHttpApi() {
    if (this.serverless.service.provider.httpApi?.cors) return;
    const offline = this.serverless.pluginManager.getPlugins().find((p) => p.constructor.name === 'ServerlessOffline');
    const server = offline?.internals().getApiGatewayServer();
    if (server) installHttpApiRules(server);
  }
}

module.exports = OfflinePlugin;
