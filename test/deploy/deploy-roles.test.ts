import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';
import { found } from '../support/found';
import { packagedStage } from '../support/packaged-once';
import { type PackagedStage, resourcesOfType } from '../support/packaged-stage';
import notGranted from './handler-permissions/not-granted.json';
import handlerPermissions from './handler-permissions/resource-handler-permissions.json';
import {
  ACCOUNT,
  actionsOf,
  allows,
  coversResource,
  grantsAction,
  loadRoleStack,
  REGION,
  resolve,
  STAGES,
  type Stage,
  type Statement,
} from './policy';

const ROLE_STACK = fileURLToPath(new URL('../../deploy/github-deploy-role.yml', import.meta.url));
const WORKFLOW = fileURLToPath(new URL('../../.github/workflows/ci.yml', import.meta.url));
const roleStacks = { dev: loadRoleStack(ROLE_STACK, 'dev'), prod: loadRoleStack(ROLE_STACK, 'prod') };
/** dev's role stack: the checks that hold for every stage alike use it. */
const roles = roleStacks.dev;
const other = (stage: Stage): Stage => (stage === 'dev' ? 'prod' : 'dev');
const schemas = handlerPermissions.types as Record<string, Record<'create' | 'update' | 'delete', string[]>>;
const exemptions = notGranted.actions as Record<string, string>;

/** Granted although no handler lists them, and why. */
const EXTRA_ACTIONS: Record<string, string> = {
  'logs:CreateLogDelivery': 'HTTP API access logs: API Gateway sets up delivery with the caller’s rights',
  'logs:DeleteLogDelivery': 'HTTP API access logs',
  'logs:GetLogDelivery': 'HTTP API access logs',
  'logs:ListLogDeliveries': 'HTTP API access logs',
  'logs:UpdateLogDelivery': 'HTTP API access logs',
  'lambda:GetPolicy': 'read when a permission or function is updated or deleted (issue 9, item 5)',
  'lambda:ListTags': 'read when a function is updated (issue 9, item 5)',
};

const stages: Record<'dev' | 'prod', PackagedStage> = {} as never;
beforeAll(async () => {
  stages.dev = await packagedStage('dev');
  stages.prod = await packagedStage('prod');
}, 120_000);

const typesIn = (stage: PackagedStage) => [...new Set(Object.values(stage.resources).map((r) => r.Type))].sort();
const needed = (type: string) => {
  const schema = schemas[type];
  return schema ? [...schema.create, ...schema.update, ...schema.delete] : [];
};
const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
const boundaryOf = (stage: Stage, region = REGION) =>
  `arn:aws:iam::${ACCOUNT}:policy/elecle-hello-${stage}-${region}-boundary`;
const BOUNDARY = boundaryOf('dev');
const stackRoleOf = (stage: Stage, name: string) =>
  `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${stage}-${REGION}/elecle-hello-${stage}-${REGION}-${name}`;

describe.each(['dev', 'prod'] as const)('CloudFormation execution role: stage %s', (name) => {
  it('has the handler permissions of every resource type in the template', () => {
    const types = typesIn(stages[name]);
    expect(types.length).toBeGreaterThan(15);
    expect(types.filter((type) => !schemas[type])).toEqual([]); // a new type: rerun extract.mjs
    const missing = types.flatMap((type) =>
      needed(type)
        .filter((action) => !exemptions[action] && !grantsAction(roleStacks[name].executionRole, action))
        .map((action) => `${type}: ${action}`),
    );
    expect(missing).toEqual([]);
  });

  it('lets the stack create roles only under its path, with the boundary, and pass them only to Lambda and CodeDeploy', () => {
    const stackRoles = resourcesOfType(stages[name], 'AWS::IAM::Role').map(([, role]) => role.Properties);
    expect(stackRoles.length).toBeGreaterThanOrEqual(3);
    for (const role of stackRoles) {
      expect(role.Path).toBe(`/elecle-hello-${name}-${REGION}/`);
      // The boundary of this stage's role stack, in whichever region the stack is deployed.
      for (const region of [REGION, 'us-east-1']) {
        expect(resolve(role.PermissionsBoundary, {}, region)).toBe(boundaryOf(name, region));
      }
    }
  });
});

describe('CloudFormation execution role: nothing broader than needed', () => {
  const granted = () => [...new Set(actionsOf(roles.executionRole))].sort();
  const allNeeded = () => new Set([...typesIn(stages.dev), ...typesIn(stages.prod)].flatMap(needed));

  it('grants only actions some handler of a type in dev or prod lists, or a named extra', () => {
    expect(granted().length).toBeGreaterThan(100);
    const unexplained = granted().filter((action) => !allNeeded().has(action) && !EXTRA_ACTIONS[action]);
    expect(unexplained).toEqual([]);
  });

  it('grants no action it names as not needed, except those it grants on a narrower scope', () => {
    const exempted = Object.entries(exemptions);
    expect(exempted.length).toBeGreaterThan(20);
    const wrong = exempted
      .filter(([action, why]) => grantsAction(roles.executionRole, action) !== why.startsWith('granted only'))
      .map(([action]) => action);
    expect(wrong).toEqual([]);
    expect(exempted.filter(([action]) => !allNeeded().has(action)).map(([action]) => action)).toEqual([]);
  });

  it('has no wildcard in any action, of either role or the boundary', () => {
    const all = [...actionsOf(roles.executionRole), ...actionsOf(roles.deployRole), ...actionsOf(roles.boundary)];
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('cannot create, change or pass the deploy roles themselves (no path to account admin)', () => {
    const deployRoles = STAGES.flatMap((stage) =>
      ['cloudformation', 'github-deploy'].map((n) => `elecle-hello-${stage}-${REGION}-${n}`),
    );
    for (const role of [...deployRoles, 'admin']) {
      const target = `arn:aws:iam::${ACCOUNT}:role/${role}`;
      for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:PassRole']) {
        expect(allows(roles.executionRole, action, target, { 'iam:PermissionsBoundary': BOUNDARY }), action).toBe(
          false,
        );
      }
    }
    const stackRole = stackRoleOf('dev', 'lambdaRole');
    expect(allows(roles.executionRole, 'iam:CreateRole', stackRole, { 'iam:PermissionsBoundary': BOUNDARY })).toBe(
      true,
    );
    expect(allows(roles.executionRole, 'iam:CreateRole', stackRole)).toBe(false);
    expect(allows(roles.executionRole, 'iam:PutRolePolicy', stackRole)).toBe(false);
    expect(allows(roles.executionRole, 'iam:DeleteRolePermissionsBoundary', stackRole)).toBe(false);
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    const context = { 'iam:PermissionsBoundary': BOUNDARY, 'iam:PolicyARN': admin };
    expect(allows(roles.executionRole, 'iam:AttachRolePolicy', stackRole, context)).toBe(false);
    expect(
      allows(roles.executionRole, 'iam:PassRole', stackRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }),
    ).toBe(true);
    expect(allows(roles.executionRole, 'iam:PassRole', stackRole, { 'iam:PassedToService': 'ec2.amazonaws.com' })).toBe(
      false,
    );
    const executionActions = found(actionsOf(roles.executionRole), 'execution role action');
    expect(executionActions.filter((action) => /^iam:(Create|Put|Delete)Policy/.test(action))).toEqual([]);
  });

  it("deletes only this service's log groups, and no REST API or domain name", () => {
    expect(
      allows(roles.executionRole, 'logs:DeleteLogGroup', arn('logs', 'log-group:/aws/lambda/elecle-hello-dev-hello')),
    ).toBe(true);
    expect(allows(roles.executionRole, 'logs:DeleteLogGroup', arn('logs', 'log-group:/aws/lambda/other-service'))).toBe(
      false,
    );
    expect(allows(roles.executionRole, 'apigateway:DELETE', `arn:aws:apigateway:${REGION}::/apis/abc123`)).toBe(true);
    expect(allows(roles.executionRole, 'apigateway:DELETE', `arn:aws:apigateway:${REGION}::/restapis/abc123`)).toBe(
      false,
    );
    expect(allows(roles.executionRole, 'apigateway:DELETE', `arn:aws:apigateway:${REGION}::/domainnames/x`)).toBe(
      false,
    );
    expect(allows(roles.executionRole, 'dynamodb:DeleteTable', arn('dynamodb', 'table/orders'))).toBe(false);
  });

  it('reads the functions’ code from the deployment bucket only', () => {
    const code = 'arn:aws:s3:::elecle-hello-dev-serverlessdeploymentbucket-abc/serverless/hello.zip';
    expect(allows(roles.executionRole, 's3:GetObject', code)).toBe(true);
    expect(allows(roles.executionRole, 's3:GetObjectVersion', code)).toBe(true);
    expect(allows(roles.executionRole, 's3:GetObject', 'arn:aws:s3:::other-bucket/secret')).toBe(false);
  });

  it('bounds stack roles to no IAM, STS or KMS action', () => {
    const actions = actionsOf(roles.boundary);
    expect(actions.length).toBeGreaterThan(10);
    expect(actions.filter((action) => /^(iam|sts|kms|organizations):/.test(action))).toEqual([]);
  });
});

/** Whether a GitHub job whose OIDC token has this subject may assume the role (AssumeRoleWithWebIdentity). */
function assumable(trust: Statement[], subject: string) {
  const context: Record<string, string> = {
    'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
    'token.actions.githubusercontent.com:sub': subject,
  };
  return trust.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      [statement.Action].flat().includes('sts:AssumeRoleWithWebIdentity') &&
      Object.entries(statement.Condition ?? {}).every(
        ([operator, keys]) =>
          operator === 'StringEquals' &&
          Object.entries(keys).every(([key, values]) => [values].flat().includes(context[key] ?? '')),
      ),
  );
}

/** Resources of a stage that another stage's roles must not reach (named as the templates name them). */
const resourcesOf = (stage: Stage) => [
  arn('cloudformation', `stack/elecle-hello-${stage}/abc`),
  `arn:aws:s3:::elecle-hello-${stage}-serverlessdeploymentbucket-abc`,
  `arn:aws:s3:::elecle-hello-${stage}-serverlessdeploymentbucket-abc/serverless/hello.zip`,
  arn('lambda', `function:elecle-hello-${stage}-hello`),
  arn('lambda', `function:elecle-hello-${stage}-hello:7`),
  arn('dynamodb', `table/elecle-hello-${stage}-counters`),
  arn('elasticache', `serverlesscache:elecle-hello-${stage}`),
  arn('logs', `log-group:/aws/lambda/elecle-hello-${stage}-hello`),
  arn('logs', `log-group:/aws/http-api/elecle-hello-${stage}`),
  arn('codedeploy', `application:elecle-hello-${stage}-EleclehelloDeploymentApplication-abc`),
  arn(
    'codedeploy',
    `deploymentgroup:elecle-hello-${stage}-App-abc/elecle-hello-${stage}-HelloLambdaFunctionDeploymentGroup`,
  ),
  arn('sns', `elecle-hello-${stage}-AlarmTopic-abc`),
  arn('cloudwatch', `alarm:elecle-hello-${stage}-StoreFailuresAlarm-abc`),
  `arn:aws:cloudwatch::${ACCOUNT}:dashboard/elecle-hello-${stage}-${REGION}`,
  stackRoleOf(stage, 'lambdaRole'),
  `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${stage}-${REGION}-cloudformation`,
];
/** Stacks no deploy role may touch: the role stacks themselves, whatever they are called. */
const ROLE_STACK_NAMES = [
  'elecle-hello-github',
  'elecle-hello-dev-roles',
  'elecle-hello-prod-roles',
  'elecle-hello-oidc',
];

/** The [statement Sid or index, resource] pairs where a statement with a named resource covers `resources`. */
const reaching = (statements: Statement[], resources: string[]) =>
  statements.flatMap((statement, i) =>
    [statement.Resource].flat().includes('*')
      ? []
      : resources.filter((resource) => coversResource(statement, resource)).map((r) => `${statement.Sid ?? i}: ${r}`),
  );

describe.each(STAGES)('Roles of stage %s: nothing of the other stage, nor of the role stacks', (name) => {
  const stack = () => roleStacks[name];

  it('lets only a job in the GitHub environment of the same name assume the deploy role', () => {
    expect(assumable(stack().trust, `repo:owner/repo:environment:${name}`)).toBe(true);
    expect(assumable(stack().trust, `repo:owner/repo:environment:${other(name)}`)).toBe(false);
    expect(assumable(stack().trust, 'repo:owner/repo:ref:refs/heads/main')).toBe(false);
    expect(assumable(stack().trust, `repo:someone/else:environment:${name}`)).toBe(false);
  });

  it("lets the deploy role drive only this stage's stack and bucket, not the other stage's or a role stack", () => {
    expect(
      allows(stack().deployRole, 'cloudformation:UpdateStack', arn('cloudformation', `stack/elecle-hello-${name}/abc`)),
    ).toBe(true);
    expect(
      allows(
        stack().deployRole,
        's3:PutObject',
        `arn:aws:s3:::elecle-hello-${name}-serverlessdeploymentbucket-abc/x.zip`,
      ),
    ).toBe(true);
    const roleStacks = ROLE_STACK_NAMES.map((stackName) => arn('cloudformation', `stack/${stackName}/abc`));
    expect(reaching(stack().deployRole, [...resourcesOf(other(name)), ...roleStacks])).toEqual([]);
  });

  it('lets the CloudFormation execution role and the boundary reach no named resource of the other stage', () => {
    expect(reaching(stack().executionRole, resourcesOf(other(name)))).toEqual([]);
    expect(reaching(stack().boundary, resourcesOf(other(name)))).toEqual([]);
    // ...while reaching this stage's (the same list, so the list itself is not what keeps them apart).
    expect(
      allows(stack().executionRole, 'lambda:DeleteFunction', arn('lambda', `function:elecle-hello-${name}-hello`)),
    ).toBe(true);
  });

  it("creates roles only with this stage's boundary, and passes to CloudFormation only this stage's execution role", () => {
    const target = stackRoleOf(name, 'lambdaRole');
    expect(
      allows(stack().executionRole, 'iam:CreateRole', target, { 'iam:PermissionsBoundary': boundaryOf(name) }),
    ).toBe(true);
    expect(
      allows(stack().executionRole, 'iam:CreateRole', target, { 'iam:PermissionsBoundary': boundaryOf(other(name)) }),
    ).toBe(false);
    const toCloudFormation = { 'iam:PassedToService': 'cloudformation.amazonaws.com' };
    const own = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${name}-${REGION}-cloudformation`;
    const others = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${other(name)}-${REGION}-cloudformation`;
    expect(allows(stack().deployRole, 'iam:PassRole', own, toCloudFormation)).toBe(true);
    expect(allows(stack().deployRole, 'iam:PassRole', others, toCloudFormation)).toBe(false);
  });
});

describe('Role stacks: one per stage and region', () => {
  it('names its IAM roles and policies (account-wide names) apart for every stage and region', () => {
    const names = [
      ...loadRoleStack(ROLE_STACK, 'dev').iamNames,
      ...loadRoleStack(ROLE_STACK, 'prod').iamNames,
      ...loadRoleStack(ROLE_STACK, 'dev', 'us-east-1').iamNames,
    ];
    expect(names.length).toBeGreaterThanOrEqual(9);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('scopes every regional ARN to the region it is deployed in', () => {
    const elsewhere = loadRoleStack(ROLE_STACK, 'dev', 'us-east-1');
    const statements = [...elsewhere.deployRole, ...elsewhere.executionRole, ...elsewhere.boundary];
    const resources = statements.flatMap((statement) => [statement.Resource].flat());
    expect(resources.filter((resource) => resource.includes(`:${REGION}:`))).toEqual([]);
  });
});

describe('GitHub deploy jobs', () => {
  interface Job {
    environment?: string;
    steps: { run?: string; with?: Record<string, string> }[];
  }
  const jobs = () =>
    Object.entries((yamlParse(readFileSync(WORKFLOW, 'utf8')) as { jobs: Record<string, Job> }).jobs).filter(
      ([, job]) => job.environment,
    );

  it('deploy only the stage named like their environment, with that environment’s role', () => {
    for (const [id, job] of found(jobs(), 'deploy job')) {
      const stages = job.steps.flatMap((step) => [...(step.run ?? '').matchAll(/--stage (\S+)/g)].map((m) => m[1]));
      expect(
        found(stages, `--stage in ${id}`).filter((stage) => stage !== job.environment),
        id,
      ).toEqual([]);
      expect(STAGES as string[], id).toContain(job.environment);
      const roleInputs = job.steps.flatMap((step) =>
        step.with?.['role-to-assume'] ? [step.with['role-to-assume']] : [],
      );
      // An environment variable: each GitHub environment holds its own stage's role ARN.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JS template
      expect(roleInputs, id).toEqual(['${{ vars.AWS_DEPLOY_ROLE_ARN }}']);
    }
  });

  it('can continue a stuck rollback, set the stack policy, and pass only the execution role to CloudFormation', () => {
    const stack = arn('cloudformation', 'stack/elecle-hello-dev/abc');
    for (const action of ['cloudformation:ContinueUpdateRollback', 'cloudformation:SetStackPolicy']) {
      expect(allows(roles.deployRole, action, stack), action).toBe(true);
    }
    const executionRole = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-dev-${REGION}-cloudformation`;
    expect(
      allows(roles.deployRole, 'iam:PassRole', executionRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }),
    ).toBe(false);
    const deployActions = found(actionsOf(roles.deployRole), 'deploy role action');
    expect(deployActions.filter((action) => action.startsWith('iam:') && action !== 'iam:PassRole')).toEqual([]);
  });
});
