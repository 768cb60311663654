import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_ATTRIBUTE, TTL_ATTRIBUTE } from '../../lib/counter/dynamodb';
import { METRIC } from '../../lib/telemetry';
import { found } from '../support/found';
import { packagedStage } from '../support/packaged-once';
import { type CfnResource, type PackagedStage, printConfig, resourcesOfType, sls } from '../support/packaged-stage';
import { type AlarmProperties, fires } from './alarm-math';

const run = promisify(execFile);
const stages: Record<'dev' | 'prod', PackagedStage> = {} as never;

beforeAll(async () => {
  stages.dev = await packagedStage('dev');
  stages.prod = await packagedStage('prod');
}, 120_000);

const ROUTE_FUNCTIONS = ['HelloLambdaFunction', 'HelloAgainLambdaFunction', 'HealthLambdaFunction'];
interface Throttle {
  ThrottlingRateLimit: number;
  ThrottlingBurstLimit: number;
}
/** The longest a request holds an instance, in seconds (see the throttle test). */
const REQUEST_BUDGET_S = 1;
/** The function a route invokes: route -> integration -> alias -> function. */
function functionOfRoute(stage: PackagedStage, route: CfnResource): CfnResource {
  const [, [, integration]] = (route.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] })[
    'Fn::Join'
  ];
  const uri = JSON.stringify(stage.resources[integration.Ref]?.Properties.IntegrationUri);
  const alias = stage.resources[/"Ref":"(\w+AliasLive)"/.exec(uri)?.[1] ?? ''];
  const fn = stage.resources[(alias?.Properties.FunctionName as { Ref: string } | undefined)?.Ref ?? ''];
  expect(fn?.Type, `function of ${route.Properties.RouteKey}`).toBe('AWS::Lambda::Function');
  return fn as CfnResource;
}
/** The functions that serve routes (not the deploy hook), each asserted to be there. */
const functions = (stage: PackagedStage) =>
  ROUTE_FUNCTIONS.map((id) => {
    expect(stage.resources[id], id).toBeDefined();
    return stage.resources[id] as CfnResource;
  });
const role = (stage: PackagedStage) => stage.resources.IamRoleLambdaExecution as CfnResource;
const statements = (stage: PackagedStage) =>
  (
    role(stage).Properties.Policies as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } }[]
  ).flatMap((policy) => policy.PolicyDocument.Statement);
const managedPolicies = (stage: PackagedStage) => JSON.stringify(role(stage).Properties.ManagedPolicyArns ?? []);
/** An alarm's periods: its own, or those of the metrics its expression reads. */
const periodsOf = (alarm: CfnResource) =>
  alarm.Properties.Period !== undefined
    ? [alarm.Properties.Period]
    : ((alarm.Properties.Metrics ?? []) as { MetricStat?: { Period: number } }[]).flatMap((metric) =>
        metric.MetricStat ? [metric.MetricStat.Period] : [],
      );

describe.each(['dev', 'prod'] as const)('Template: stage %s, packaged offline', (name) => {
  it('passes cfn-lint', async () => {
    // W3005: redundant DependsOn that the framework itself generates.
    const lint = await run('cfn-lint', ['--ignore-checks', 'W3005', '--', stages[name].templateFile]).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number | string; stdout?: string; message: string }) => ({
        code: error.code,
        output:
          error.code === 'ENOENT'
            ? 'cfn-lint is not installed (pip install cfn-lint)'
            : (error.stdout ?? error.message),
      }),
    );
    expect(lint).toEqual({ code: 0, output: '' });
  });

  it('routes exactly GET /hello, GET /hello/again and GET /health', () => {
    const routes = resourcesOfType(stages[name], 'AWS::ApiGatewayV2::Route').map(
      ([, route]) => route.Properties.RouteKey,
    );
    expect(routes.sort()).toEqual(['GET /health', 'GET /hello', 'GET /hello/again']);
  });

  it('runs every function on nodejs24.x, arm64', () => {
    expect(functions(stages[name])).toHaveLength(3);
    for (const [, fn] of found(resourcesOfType(stages[name], 'AWS::Lambda::Function'), 'Lambda function')) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });

  it("throttles each route within its function's reserved concurrency and the store, so excess is API Gateway's 429", () => {
    const stage = stages[name].resources.HttpApiStage as CfnResource;
    const defaults = stage.Properties.DefaultRouteSettings as Throttle;
    const perRoute = (stage.Properties.RouteSettings ?? {}) as Record<string, Throttle>;
    const routes = found(resourcesOfType(stages[name], 'AWS::ApiGatewayV2::Route'), 'route');
    // Route settings may name only existing routes: the stage is created after every route.
    const dependsOn = (stage as CfnResource & { DependsOn?: string | string[] }).DependsOn;
    expect([dependsOn].flat()).toEqual(expect.arrayContaining(routes.map(([id]) => id)));
    for (const [, route] of routes) {
      const key = route.Properties.RouteKey as string;
      const { ThrottlingRateLimit: rate = 0, ThrottlingBurstLimit: burst = 0 } = perRoute[key] ?? defaults;
      expect(rate, key).toBeGreaterThan(0);
      expect(burst, key).toBeGreaterThan(0);
      const reserved = functionOfRoute(stages[name], route).Properties.ReservedConcurrentExecutions as
        | number
        | undefined;
      // Requests in flight never exceed burst + rate x a request's duration; a request ends within
      // 1 s (the store's 500 ms timeout plus a cold start; SlowRequestsAlarm calls p99 over 1 s
      // abnormal). Within the reservation, Lambda never throttles, which API Gateway answers 500.
      if (name === 'prod') expect(reserved, key).toBeGreaterThan(0);
      if (reserved !== undefined) expect(burst + rate * REQUEST_BUDGET_S, key).toBeLessThanOrEqual(reserved);
    }
    // Two counting routes share one store: DynamoDB ~1,000 writes/s to one item, the cache ~2,500
    // (docs/deploying.md "Capacity").
    const counting = ['GET /hello', 'GET /hello/again'].map((key) => (perRoute[key] ?? defaults).ThrottlingRateLimit);
    expect(counting.reduce((sum, rate) => sum + rate, 0)).toBeLessThan(name === 'dev' ? 1_000 : 2_500);
    // A route added later without settings of its own gets the smallest.
    for (const settings of Object.values(perRoute)) {
      expect(defaults.ThrottlingRateLimit).toBeLessThanOrEqual(settings.ThrottlingRateLimit);
      expect(defaults.ThrottlingBurstLimit).toBeLessThanOrEqual(settings.ThrottlingBurstLimit);
    }
  });

  it('writes an access log with request id, route, status and integration latency', () => {
    const stage = stages[name].resources.HttpApiStage as CfnResource;
    const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
    for (const field of ['$context.requestId', '$context.routeKey', '$context.status', '$context.integrationLatency']) {
      expect(format).toContain(field);
    }
    expect(JSON.parse(format)).toBeTypeOf('object');
  });

  it('serves every route through the Live alias, which CodeDeploy moves after the pre-traffic check', () => {
    const integrations = resourcesOfType(stages[name], 'AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(3);
    for (const [, integration] of integrations) expect(JSON.stringify(integration)).toMatch(/LambdaFunctionAliasLive/);
    const groups = resourcesOfType(stages[name], 'AWS::CodeDeploy::DeploymentGroup').map(([, group]) => group);
    expect(groups).toHaveLength(3);
    for (const group of groups) {
      expect(group.Properties.AutoRollbackConfiguration).toMatchObject({ Enabled: true });
      expect((group.Properties.AlarmConfiguration as { Alarms: unknown[] }).Alarms).toEqual([
        { Name: { Ref: 'ServerErrorRateAlarm' } },
        { Name: { Ref: 'StoreFailuresAlarm' } },
        { Name: { Ref: 'SlowRequestsAlarm' } },
      ]);
    }
    for (const [, alias] of found(resourcesOfType(stages[name], 'AWS::Lambda::Alias'), 'Lambda alias')) {
      expect(JSON.stringify(alias)).toContain('"BeforeAllowTrafficHook":{"Ref":"PreTrafficCheckLambdaFunction"}');
    }
  });

  it('puts its subnets (prod only) in zones chosen by ID, not by Fn::GetAZs', () => {
    const subnets = resourcesOfType(stages[name], 'AWS::EC2::Subnet');
    // prod creates a VPC for the cache (network: created); dev's functions run in none, so it has no subnets.
    expect(subnets.length > 0, 'has subnets').toBe(name === 'prod');
    for (const [, subnet] of subnets) {
      expect(subnet.Properties.AvailabilityZoneId).toMatch(/^[a-z]+\d-az\d$/);
    }
    expect(JSON.stringify(stages[name].resources)).not.toContain('Fn::GetAZs');
  });

  it('keeps the logs for a set number of days', () => {
    for (const [, group] of found(resourcesOfType(stages[name], 'AWS::Logs::LogGroup'), 'log group')) {
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  it('alarms on store failures, the 5xx rate, p99 duration and throttling, all to one SNS topic', () => {
    const alarms = resourcesOfType(stages[name], 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    // 3 that roll back a deployment, 3 Lambda throttle alarms, 1 for the store's throttling.
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
    const storeFailures = JSON.stringify(stages[name].resources.StoreFailuresAlarm?.Properties.Metrics);
    expect(storeFailures).toContain(
      JSON.stringify({
        Namespace: 'ElecleHello',
        MetricName: METRIC.storeFailures,
        Dimensions: [{ Name: 'service', Value: `elecle-hello-${name}` }],
      }),
    );
    expect(JSON.stringify(stages[name].resources.ServerErrorRateAlarm)).toContain('"MetricName":"5xx"');
    expect(JSON.stringify(stages[name].resources.SlowRequestsAlarm)).toContain('"Stat":"p99"');
    expect(stages[name].resources.AlarmEmailSubscription?.Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: { Ref: 'AlarmEmail' },
    });
  });

  // Every store failure is a 503, which API Gateway counts as a 5xx: both rollback alarms that count
  // them must tell a blip from an outage the same way.
  it.each([
    ['StoreFailuresAlarm', 'failures'],
    ['ServerErrorRateAlarm', 'errors'],
  ])('rolls back on a store outage, not on a transient failure or two (%s)', (alarmName, failuresId) => {
    const alarm = stages[name].resources[alarmName]?.Properties as unknown as AlarmProperties;
    // One minute of traffic: the ids its metrics read ("metric" if it reads one metric alone).
    const minute = (failures?: number, requests?: number) => ({ [failuresId]: failures, requests, metric: failures });
    const quiet = minute();
    const minutes = (n: number, failures?: number, requests?: number) => Array(n).fill(minute(failures, requests));
    // One failed request, alone or among many, in any minute of a canary.
    expect(fires(alarm, [minute(1, 1), quiet, quiet, quiet, quiet])).toBe(false);
    expect(fires(alarm, [quiet, minute(1, 2_000), quiet, quiet])).toBe(false);
    // A blip every minute, or two failures twice, or a 2-second blip across a minute boundary.
    expect(fires(alarm, minutes(10, 1, 100))).toBe(false);
    expect(fires(alarm, [minute(2, 2), minute(2, 2), quiet])).toBe(false);
    expect(fires(alarm, [minute(2, 60), minute(2, 60), quiet])).toBe(false);
    // A handful among thousands: under 1%.
    expect(fires(alarm, minutes(5, 10, 5_000))).toBe(false);
    // An outage, at low or high traffic, trips it within the 5-minute canary (2 breaching minutes).
    expect(fires(alarm, minutes(2, 5, 5))).toBe(true);
    expect(fires(alarm, minutes(2, 300, 600))).toBe(true);
    // Failures with no API traffic counted (the pre-traffic check invokes directly) still count.
    expect(fires(alarm, minutes(2, 3))).toBe(true);
  });

  it('alarms on Lambda throttles of each route function', () => {
    const throttled = resourcesOfType(stages[name], 'AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Namespace === 'AWS/Lambda' && alarm.MetricName === 'Throttles');
    const functionIds = throttled.map((alarm) => (alarm.Dimensions as { Value: { Ref: string } }[])[0]?.Value.Ref);
    expect(functionIds.sort()).toEqual([...ROUTE_FUNCTIONS].sort());
    for (const alarm of throttled) expect(alarm).toMatchObject({ Statistic: 'Sum', Threshold: 0 });
  });

  it('looks at 60-second periods in every alarm, so one can fire inside the 5-minute canary', () => {
    const alarms = resourcesOfType(stages[name], 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms) {
      expect(periodsOf(alarm), id).not.toEqual([]);
      expect(new Set(periodsOf(alarm)), id).toEqual(new Set([60]));
      // Breaching data points needed, times the period: what an alarm waits at least, before the
      // metric's own delay (a minute or two). 3 minutes leave room for that inside 5.
      const needed = (alarm.Properties.DatapointsToAlarm ?? alarm.Properties.EvaluationPeriods) as number;
      expect(needed * 60, id).toBeLessThanOrEqual(180);
    }
  });

  it('rolls a deployment back on alarms of this template that a bad version trips, not on throttling', () => {
    const groups = resourcesOfType(stages[name], 'AWS::CodeDeploy::DeploymentGroup');
    expect(groups).toHaveLength(3);
    for (const [, group] of groups) {
      const ids = (group.Properties.AlarmConfiguration as { Alarms: { Name: { Ref: string } }[] }).Alarms.map(
        (alarm) => alarm.Name.Ref,
      );
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(stages[name].resources[id]?.Type, id).toBe('AWS::CloudWatch::Alarm');
      expect(ids.filter((id) => /Throttles/.test(id))).toEqual([]);
    }
  });

  it("has a dashboard whose body is JSON with the service's metrics, named with its region", () => {
    const dashboard = stages[name].resources.Dashboard as CfnResource;
    // Dashboard names are account-wide, not per region.
    expect(dashboard.Properties.DashboardName).toBe(`elecle-hello-${name}-eu-west-1`);
    const [body] = (dashboard.Properties.DashboardBody as { 'Fn::Sub': [string, object] })['Fn::Sub'];
    const widgets = (JSON.parse(body.replace(/\$\{[^}]+\}/g, 'x')) as { widgets: unknown[] }).widgets;
    expect(widgets.length).toBeGreaterThan(3);
    for (const metric of Object.values(METRIC)) expect(body).toContain(`"${metric}"`);
  });

  it('emits metrics in AWS, and names the service per stage', () => {
    for (const fn of functions(stages[name])) {
      expect((fn.Properties.Environment as { Variables: object }).Variables).toMatchObject({
        POWERTOOLS_METRICS_DISABLED: 'false',
        POWERTOOLS_SERVICE_NAME: `elecle-hello-${name}`,
      });
    }
  });

  it("lets the route functions' role report hook results only for this stage's three deployment groups", () => {
    // serverless-plugin-canary-deployments adds this to the shared role whenever a function has a
    // hook, with no setting to leave it out; docs/deploying.md "Deploy to AWS" (Rollout) says why it stays.
    const codeDeploy = statements(stages[name]).filter((statement) =>
      statement.Action.some((action) => action.startsWith('codedeploy:')),
    );
    expect(codeDeploy.map((statement) => statement.Action)).toEqual([
      ['codedeploy:PutLifecycleEventHookExecutionStatus'],
    ]);
    const groups = resourcesOfType(stages[name], 'AWS::CodeDeploy::DeploymentGroup').map(
      ([, group]) => group.Properties.DeploymentGroupName,
    );
    expect(groups).toHaveLength(3);
    const resources = ((codeDeploy[0]?.Resource ?? []) as { 'Fn::Sub': string }[]).map(
      (resource) => resource['Fn::Sub'],
    );
    expect(resources.map((arn) => arn.slice(arn.lastIndexOf('/') + 1)).sort()).toEqual([...groups].sort());
    for (const arn of resources) expect(arn).toMatch(/:deploymentgroup:\$\{\w+DeploymentApplication\}\//);
  });

  it('grants no IAM action with a wildcard', () => {
    const actions = statements(stages[name]).flatMap((statement) => statement.Action);
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });
});

describe('Template: stage dev (DynamoDB)', () => {
  it('allows only GetItem, PutItem and UpdateItem, only on the counter table', () => {
    const dynamo = statements(stages.dev).filter((statement) =>
      statement.Action.some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamo).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': ['CounterTable', 'Arn'] },
      },
    ]);
  });

  it('keys the table and its TTL on the attributes the adapter writes', () => {
    const table = stages.dev.resources.CounterTable as CfnResource;
    expect(table.Properties.KeySchema).toEqual([{ AttributeName: KEY_ATTRIBUTE, KeyType: 'HASH' }]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('encrypts the table with the default AWS owned key, not a KMS key that costs', () => {
    expect((stages.dev.resources.CounterTable as CfnResource).Properties.SSESpecification).toBeUndefined();
  });

  it("alarms on the table's throttled writes, and not on a cache it does not have", () => {
    expect(stages.dev.resources.TableThrottlesAlarm?.Properties).toMatchObject({
      Namespace: 'AWS/DynamoDB',
      MetricName: 'WriteThrottleEvents',
      Dimensions: [{ Name: 'TableName', Value: { Ref: 'CounterTable' } }],
      Statistic: 'Sum',
      Threshold: 0,
    });
    expect(JSON.stringify(stages.dev.resources)).not.toContain('ThrottledCmds');
  });

  it('puts the functions in no VPC, and grants no VPC access', () => {
    for (const fn of functions(stages.dev)) expect(fn.Properties.VpcConfig).toBeUndefined();
    expect(managedPolicies(stages.dev)).not.toContain('AWSLambdaVPCAccessExecutionRole');
  });
});

describe('Template: gradual rollout and reserved concurrency per stage', () => {
  const configs = (stage: PackagedStage) =>
    resourcesOfType(stage, 'AWS::CodeDeploy::DeploymentGroup').map(([, group]) =>
      JSON.stringify(group.Properties.DeploymentConfigName),
    );

  it('shifts prod 10% for 5 minutes first; dev at once', () => {
    expect(configs(stages.prod)).toEqual(Array(3).fill(expect.stringContaining('"Canary10Percent5Minutes"')));
    expect(configs(stages.dev)).toEqual(Array(3).fill(expect.stringContaining('"AllAtOnce"')));
  });

  it('reserves concurrency in prod only, so dev deploys on a new account', () => {
    for (const fn of functions(stages.prod)) expect(fn.Properties.ReservedConcurrentExecutions).toBeGreaterThan(0);
    for (const fn of functions(stages.dev)) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });
});

describe('Template: stage prod (ElastiCache Serverless, Valkey)', () => {
  const cache = () => stages.prod.resources.Cache as CfnResource;
  const ingress = () =>
    (stages.prod.resources.CacheSecurityGroup as CfnResource).Properties.SecurityGroupIngress as Record<
      string,
      unknown
    >[];

  it("creates a Valkey serverless cache in the functions' subnets", () => {
    expect(cache().Type).toBe('AWS::ElastiCache::ServerlessCache');
    expect(cache().Properties.Engine).toBe('valkey');
    for (const fn of functions(stages.prod)) {
      expect((fn.Properties.VpcConfig as { SubnetIds: unknown }).SubnetIds).toEqual(cache().Properties.SubnetIds);
    }
  });

  it("lets only the functions' security group reach the cache, on its port only", () => {
    expect(cache().Properties.SecurityGroupIds).toEqual([{ Ref: 'CacheSecurityGroup' }]);
    expect(ingress()).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 6379,
        ToPort: 6379,
        SourceSecurityGroupId: { Ref: 'FunctionSecurityGroup' },
      }),
    ]);
    for (const fn of functions(stages.prod)) {
      expect((fn.Properties.VpcConfig as { SecurityGroupIds: unknown }).SecurityGroupIds).toEqual([
        { Ref: 'FunctionSecurityGroup' },
      ]);
    }
  });

  it('connects with TLS (rediss://): in-transit encryption is always on for ElastiCache Serverless', () => {
    for (const fn of functions(stages.prod)) {
      const url = (fn.Properties.Environment as { Variables: Record<string, { 'Fn::Join': [string, unknown[]] }> })
        .Variables.REDIS_URL;
      expect(url?.['Fn::Join'][1][0]).toBe('rediss://');
    }
  });

  it("alarms on the cache's throttled commands, and not on a table it does not have", () => {
    expect(stages.prod.resources.CacheThrottlesAlarm?.Properties).toMatchObject({
      Namespace: 'AWS/ElastiCache',
      MetricName: 'ThrottledCmds',
      Dimensions: [{ Name: 'clusterId', Value: cache().Properties.ServerlessCacheName }],
      Statistic: 'Sum',
      Threshold: 0,
    });
    expect(cache().Properties.ServerlessCacheName).toBe('elecle-hello-prod');
    expect(JSON.stringify(stages.prod.resources)).not.toContain('ThrottleEvents');
  });

  it('grants VPC access, and no DynamoDB', () => {
    expect(managedPolicies(stages.prod)).toContain('AWSLambdaVPCAccessExecutionRole');
    expect(JSON.stringify(found(statements(stages.prod), 'IAM statement'))).not.toContain('dynamodb:');
  });
});

describe('Stack protection and version pruning (provider settings osls applies after a deploy)', () => {
  it('turns termination protection on for prod, off for dev, and keeps 3 unaliased versions of each function', async () => {
    for (const stage of ['dev', 'prod']) {
      const config = await printConfig<{
        provider: { deletionProtection?: { stages: string[] }; pruneFunctionVersions?: { number: number } };
      }>(stage);
      expect(config.provider.deletionProtection?.stages, stage).toEqual(['prod']);
      expect(config.provider.pruneFunctionVersions?.number, stage).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('Stage local (sls offline)', () => {
  it('resolves every environment value to a string, so offline never sees [object Object]', async () => {
    const config = await printConfig<{
      provider: { environment: Record<string, unknown> };
      functions: Record<string, { environment?: Record<string, unknown> }>;
    }>('local');
    const values = [
      config.provider.environment,
      ...Object.values(config.functions).map((fn) => fn.environment),
    ].flatMap((env) => Object.values(env ?? {}));
    expect(found(values, 'environment value').filter((value) => typeof value !== 'string')).toEqual([]);
  });

  it('refuses to be packaged, naming the stages that can be', async () => {
    const { code, output } = await sls('package', '--stage', 'local');
    expect(code).not.toBe(0);
    expect(output).toContain('The "local" stage is for sls offline only');
  });
});
