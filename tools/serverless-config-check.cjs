// Checks the functions' environment with the handlers' own readConfig when `sls offline` starts,
// so a wrong value stops startup with the variable's name instead of failing the first request.
const { require: requireTs } = require('tsx/cjs/api');

class ConfigCheckPlugin {
  constructor(serverless, _options, { log }) {
    this.hooks = {
      'before:offline:start:init': () => this.check(serverless, log),
    };
  }

  check(serverless, log) {
    const { readConfig, describeStore } = requireTs('../lib/config.ts', __filename);
    const env = { ...serverless.service.provider.environment, IS_OFFLINE: 'true' };
    let config;
    try {
      config = readConfig(env);
    } catch (error) {
      throw new serverless.classes.Error(`Configuration: ${error.message}`);
    }
    log.notice(`Counter store: ${describeStore(config)}; window ${config.windowMs / 1000} s`);
  }
}

module.exports = ConfigCheckPlugin;
