// Every Lambda function in the packaged templates, whoever added it (osls, the canary plugin, our own
// resources), gets from its own role, and within the permissions boundary, what its configuration
// makes Lambda or the function itself call. Lambda refuses to create a traced function whose role
// cannot write to X-Ray (InvalidParameterValueException), and a VPC function whose role cannot manage
// its network interfaces; a function that cannot write to its log group runs, but blind.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { found } from '../support/found';
import { packagedStage } from '../support/packaged-once';
import { type CfnResource, type PackagedStage, resourcesOfType } from '../support/packaged-stage';
import { ACCOUNT, allows, loadRoleStack, REGION, RESOURCELESS_ACTIONS, resolve, type Statement } from './policy';

const ROLE_STACK = fileURLToPath(new URL('../../deploy/github-deploy-role.yml', import.meta.url));

/**
 * What Lambda calls, with the function's role, to manage a VPC function's network interfaces (Lambda
 * docs, "Giving Lambda functions access to resources in an Amazon VPC"; the managed policy below).
 */
const VPC_NETWORK_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/** AWS managed policies a stack role may attach, as published in the AWS Managed Policy reference. */
const MANAGED_POLICIES: Record<string, Statement[]> = {
  // docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html (v3)
  'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole': [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', ...VPC_NETWORK_ACTIONS],
      Resource: '*',
    },
  ],
};

/** What a function's configuration needs its role to allow: [action, resource] pairs. */
function needs(fn: CfnResource): [string, string][] {
  const properties = resolve(fn.Properties, {}) as Record<string, unknown>;
  const group =
    (properties.LoggingConfig as { LogGroup?: string } | undefined)?.LogGroup ??
    `/aws/lambda/${properties.FunctionName as string}`;
  const stream = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:log-stream:2026/12/05/[$LATEST]0123abcd`;
  const pairs: [string, string][] = [
    ['logs:CreateLogStream', stream],
    ['logs:PutLogEvents', stream],
  ];
  if ((properties.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active') {
    // Lambda docs, "Visualize Lambda function invocations using AWS X-Ray": both, on any resource.
    pairs.push(['xray:PutTraceSegments', '*'], ['xray:PutTelemetryRecords', '*']);
  }
  if (properties.VpcConfig) {
    // Lambda docs, "Giving Lambda functions access to resources in an Amazon VPC": the execution role's part.
    for (const action of VPC_NETWORK_ACTIONS) {
      pairs.push([action, '*']);
    }
  }
  return pairs;
}

/** A role's own statements: inline policies plus the managed policies it attaches (each one known). */
function roleStatements(role: CfnResource): Statement[] {
  const properties = resolve(role.Properties, {}) as {
    Policies?: { PolicyDocument: { Statement: Statement[] } }[];
    ManagedPolicyArns?: string[];
  };
  const inline = (properties.Policies ?? []).flatMap((policy) => policy.PolicyDocument.Statement);
  const managed = (properties.ManagedPolicyArns ?? []).flatMap((arn) => {
    const statements = MANAGED_POLICIES[arn];
    if (!statements) throw new Error(`unknown managed policy ${arn}: add its document to MANAGED_POLICIES`);
    return statements;
  });
  return [...inline, ...managed];
}

/** Statements that grant a resourceless action on something narrower than "*". */
const narrowed = (statements: Statement[]) =>
  statements
    .filter(
      (statement) => !(Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).includes('*'),
    )
    .flatMap((statement) => [statement.Action].flat().filter((action) => RESOURCELESS_ACTIONS.includes(action)));

const stages: Record<'dev' | 'prod', PackagedStage> = {} as never;
beforeAll(async () => {
  stages.dev = await packagedStage('dev');
  stages.prod = await packagedStage('prod');
}, 120_000);

describe.each(['dev', 'prod'] as const)('Function roles: stage %s', (name) => {
  const functions = () => found(resourcesOfType(stages[name], 'AWS::Lambda::Function'), 'Lambda function');
  const roleOf = (fn: CfnResource) => {
    const [roleId] = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    const role = stages[name].resources[roleId];
    expect(role?.Type, `${roleId}`).toBe('AWS::IAM::Role');
    return role as CfnResource;
  };

  it('gives every function, the hook included, a role of this template', () => {
    const ids = functions().map(([id]) => id);
    expect(ids).toContain('PreTrafficCheckLambdaFunction');
    for (const [, fn] of functions()) roleOf(fn);
  });

  it("lets every function's role do what the function's configuration needs: logs, tracing, VPC", () => {
    const missing = functions().flatMap(([id, fn]) => {
      const statements = roleStatements(roleOf(fn));
      return needs(fn)
        .filter(([action, resource]) => !allows(statements, action, resource))
        .map(([action, resource]) => `${id}: ${action} on ${resource}`);
    });
    expect(missing).toEqual([]);
  });

  it('keeps all of that within the permissions boundary the role stack defines', () => {
    const boundary = loadRoleStack(ROLE_STACK, name).boundary;
    const missing = functions().flatMap(([id, fn]) =>
      needs(fn)
        .filter(([action, resource]) => !allows(boundary, action, resource))
        .map(([action, resource]) => `${id}: ${action} on ${resource}`),
    );
    expect(missing).toEqual([]);
  });

  it('grants the actions that take no resource type on "*", in every role of the template and the role stack', () => {
    const templateRoles = resourcesOfType(stages[name], 'AWS::IAM::Role').flatMap(([, role]) => roleStatements(role));
    const stack = loadRoleStack(ROLE_STACK, name);
    const all = found([...templateRoles, ...stack.deployRole, ...stack.executionRole, ...stack.boundary], 'statement');
    expect(
      all.flatMap((statement) => [statement.Action].flat()).filter((a) => RESOURCELESS_ACTIONS.includes(a)).length,
    ).toBeGreaterThan(3);
    expect(narrowed(all)).toEqual([]);
  });

  it('traces every function in a stage with tracing on, the hook included (prod), and none in dev', () => {
    const modes = functions().map(([, fn]) => (fn.Properties.TracingConfig as { Mode?: string } | undefined)?.Mode);
    expect(new Set(modes)).toEqual(new Set([name === 'prod' ? 'Active' : undefined]));
  });
});
