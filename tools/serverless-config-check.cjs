// Checks the functions' environment with the handlers' own readConfig when `sls offline` starts,
// so a wrong value stops startup with the variable's name instead of failing the first request.
const { require: requireTs } = require('tsx/cjs/api');

class ConfigCheckPlugin {
  constructor(serverless, options, { log }) {
    this.hooks = {
      'before:offline:start:init': () => this.check(serverless, options, log),
    };
  }

  check(serverless, options, log) {
    const { readConfig, describeStore } = requireTs('../lib/config.ts', __filename);
    const env = { ...serverless.service.provider.environment, IS_OFFLINE: 'true' };
    let config;
    try {
      config = readConfig(env);
    } catch (error) {
      throw new serverless.classes.Error(`Configuration: ${error.message}`);
    }
    const inProcess = options.useInProcess ?? serverless.service.custom?.['serverless-offline']?.useInProcess;
    if (config.store.kind === 'memory' && !inProcess) {
      throw new serverless.classes.Error(
        'Configuration: COUNTER_STORE is "memory", which needs --useInProcess (npm start passes it): ' +
          'in worker threads each function would count on its own. Set REDIS_URL to use Redis.',
      );
    }
    log.notice(`Counter store: ${describeStore(config)}; window ${config.windowMs / 1000} s`);
  }
}

module.exports = ConfigCheckPlugin;
