// Runs the handlers' own readConfig on each function's resolved environment:
// - when `sls offline` starts, so a wrong value stops startup with the variable's name instead of
//   failing the first request;
// - when a stage is packaged (and so deployed), so a bad stage parameter never reaches AWS.
const { require: requireTs } = require('tsx/cjs/api');
const { exitUnlessSupportedNode } = require('./node-version.cjs');

// Every sls command (offline, package, deploy) loads this plugin first.
exitUnlessSupportedNode();

// Values CloudFormation resolves at deploy time; checked for their shape with a stand-in.
const DEPLOY_TIME_STAND_INS = { REDIS_URL: 'rediss://resolved-at-deploy.invalid:6379' };

class ConfigCheckPlugin {
  constructor(serverless, options, { log }) {
    this.serverless = serverless;
    this.options = options;
    this.log = log;
    this.hooks = {
      'before:offline:start:init': () => this.check({ offline: true }),
      'before:package:initialize': () => {
        this.refuseLocalStage();
        this.requireZoneIds();
        this.check({ offline: false });
      },
    };
  }

  refuseLocalStage() {
    const stage = this.serverless.getProvider('aws').getStage();
    if (stage === 'local') {
      throw new this.serverless.classes.Error(
        'The "local" stage is for sls offline only. Package or deploy --stage dev (DynamoDB) or --stage prod (ElastiCache).',
      );
    }
  }

  /**
   * Subnets the stack creates (network: created) take their zones from deploy/network/zone-ids.yml
   * by region; in a region it does not list they would reach CloudFormation without a zone.
   */
  requireZoneIds() {
    const fragments = [this.serverless.service.resources ?? []].flat();
    const subnets = fragments.flatMap((fragment) =>
      Object.entries(fragment?.Resources ?? {}).filter(([, resource]) => resource?.Type === 'AWS::EC2::Subnet'),
    );
    const without = subnets.filter(([, subnet]) => !subnet.Properties?.AvailabilityZoneId).map(([id]) => id);
    if (without.length > 0) {
      const region = this.serverless.getProvider('aws').getRegion();
      throw new this.serverless.classes.Error(
        `No availability zone IDs for ${region} (subnets ${without.join(', ')}): add two of ` +
          `\`aws ec2 describe-availability-zones --region ${region} --query 'AvailabilityZones[].ZoneId'\` ` +
          'to deploy/network/zone-ids.yml, or set the stage param availabilityZoneIds.',
      );
    }
  }

  inProcess() {
    return this.options.useInProcess ?? this.serverless.service.custom?.['serverless-offline']?.useInProcess ?? false;
  }

  check({ offline }) {
    const { readConfig, describeStore } = requireTs('../lib/config.ts', __filename);
    const { provider, functions } = this.serverless.service;
    const descriptions = new Set();
    for (const [name, fn] of Object.entries(functions)) {
      // Only the functions that serve routes read this configuration (not the deploy hook).
      if (!fn.events?.length) continue;
      const env = { ...provider.environment, ...fn.environment, ...(offline ? { IS_OFFLINE: 'true' } : {}) };
      for (const [key, value] of Object.entries(env)) {
        if (typeof value !== 'string') env[key] = DEPLOY_TIME_STAND_INS[key] ?? JSON.stringify(value);
      }
      if (!offline) env.AWS_LAMBDA_FUNCTION_NAME = name;
      try {
        const config = readConfig(env);
        descriptions.add(`${describeStore(config)}; window ${config.windowMs / 1000} s`);
      } catch (error) {
        throw new this.serverless.classes.Error(`Configuration of function ${name}: ${error.message}`);
      }
    }
    if (offline && [...descriptions].some((description) => description.startsWith('memory')) && !this.inProcess()) {
      throw new this.serverless.classes.Error(
        'Configuration: COUNTER_STORE is "memory", which needs serverless-offline in-process ' +
          '(offlineInProcess=false runs worker threads, where each function would count on its own). ' +
          'Set REDIS_URL to use Redis.',
      );
    }
    for (const description of descriptions) this.log.notice(`Counter store: ${description}`);
  }
}

module.exports = ConfigCheckPlugin;
