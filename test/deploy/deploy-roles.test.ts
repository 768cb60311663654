import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { found } from '../support/found';
import { type CfnResource, type PackagedStage, packageStage, resourcesOfType } from '../support/packaged-stage';
import notGranted from './handler-permissions/not-granted.json';
import handlerPermissions from './handler-permissions/resource-handler-permissions.json';
import { ACCOUNT, actionsOf, allows, grantsAction, loadRoleStack, REGION } from './policy';

const ROLE_STACK = fileURLToPath(new URL('../../deploy/github-deploy-role.yml', import.meta.url));
const WORKFLOW = fileURLToPath(new URL('../../.github/workflows/ci.yml', import.meta.url));
const roles = loadRoleStack(ROLE_STACK);
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
  stages.dev = await packageStage('dev');
  stages.prod = await packageStage('prod');
}, 120_000);

const typesIn = (stage: PackagedStage) => [...new Set(Object.values(stage.resources).map((r) => r.Type))].sort();
const needed = (type: string) => {
  const schema = schemas[type];
  return schema ? [...schema.create, ...schema.update, ...schema.delete] : [];
};
const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/elecle-hello-stack-boundary`;

describe.each(['dev', 'prod'] as const)('CloudFormation execution role: stage %s', (name) => {
  it('has the handler permissions of every resource type in the template', () => {
    const types = typesIn(stages[name]);
    expect(types.length).toBeGreaterThan(15);
    expect(types.filter((type) => !schemas[type])).toEqual([]); // a new type: rerun extract.mjs
    const missing = types.flatMap((type) =>
      needed(type)
        .filter((action) => !exemptions[action] && !grantsAction(roles.executionRole, action))
        .map((action) => `${type}: ${action}`),
    );
    expect(missing).toEqual([]);
  });

  it('lets the stack create roles only under its path, with the boundary, and pass them only to Lambda and CodeDeploy', () => {
    const stackRoles = resourcesOfType(stages[name], 'AWS::IAM::Role').map(([, role]) => role.Properties);
    expect(stackRoles.length).toBeGreaterThanOrEqual(3);
    for (const role of stackRoles) {
      expect(role.Path).toBe('/elecle-hello-stack/');
      expect(JSON.stringify(role.PermissionsBoundary)).toContain('policy/elecle-hello-stack-boundary');
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
    for (const role of ['elecle-hello-cloudformation', 'elecle-hello-github-deploy', 'admin']) {
      const target = `arn:aws:iam::${ACCOUNT}:role/${role}`;
      for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:PassRole']) {
        expect(allows(roles.executionRole, action, target, { 'iam:PermissionsBoundary': BOUNDARY }), action).toBe(
          false,
        );
      }
    }
    const stackRole = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-stack/elecle-hello-dev-eu-west-1-lambdaRole`;
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

describe('GitHub deploy role', () => {
  const trust = () =>
    (roles.properties('GitHubDeployRole').AssumeRolePolicyDocument as { Statement: CfnResource[] }).Statement;

  it('trusts the subjects the workflow’s deploy jobs present: their GitHub environments', () => {
    const subjects = JSON.stringify(trust());
    const environments = [...readFileSync(WORKFLOW, 'utf8').matchAll(/^ {4}environment: (\w+)/gm)].map((m) => m[1]);
    expect(environments.length).toBeGreaterThan(0);
    for (const environment of environments) expect(subjects).toContain(`repo:owner/repo:environment:${environment}`);
    expect(subjects).not.toContain(':ref:');
  });

  it('can continue a stuck rollback, set the stack policy, and pass only the execution role to CloudFormation', () => {
    const stack = arn('cloudformation', 'stack/elecle-hello-prod/abc');
    for (const action of ['cloudformation:ContinueUpdateRollback', 'cloudformation:SetStackPolicy']) {
      expect(allows(roles.deployRole, action, stack), action).toBe(true);
    }
    const executionRole = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-cloudformation`;
    const toCloudFormation = { 'iam:PassedToService': 'cloudformation.amazonaws.com' };
    expect(allows(roles.deployRole, 'iam:PassRole', executionRole, toCloudFormation)).toBe(true);
    expect(
      allows(roles.deployRole, 'iam:PassRole', executionRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }),
    ).toBe(false);
    const deployActions = found(actionsOf(roles.deployRole), 'deploy role action');
    expect(deployActions.filter((action) => action.startsWith('iam:') && action !== 'iam:PassRole')).toEqual([]);
  });
});
