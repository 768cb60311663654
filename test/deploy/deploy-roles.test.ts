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
  conditionsHold,
  coversResource,
  grantsAction,
  loadRoleStack,
  OWNER_ID,
  REGION,
  REPOSITORY_ID,
  RESOURCELESS_ACTIONS,
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
interface TypeSchema {
  create: string[];
  update: string[];
  delete: string[];
  /** The registry schema's tagging section: stack tags reach every taggable resource. */
  tagging: { taggable: boolean; permissions: string[] };
  /** The schema's top-level property names. */
  properties: string[];
}
const schemas = handlerPermissions.types as Record<string, TypeSchema>;
/** Why an action some handler lists is not granted (handler-permissions/not-granted.json). */
interface Exemption {
  why: string;
  unusedProperties?: Record<string, string[]>;
  alwaysSet?: Record<string, string[]>;
  otherType?: Record<string, string>;
  notAnIamAction?: boolean;
  authorizedAs?: string;
  grantedOnly?: { statement: string; for: string[] };
}
const exemptions = notGranted.actions as Record<string, Exemption>;
/** The exemption of an action, whatever the case of its name (IAM action names ignore case). */
const exemptionOf = (action: string) =>
  Object.entries(exemptions).find(([name]) => name.toLowerCase() === action.toLowerCase())?.[1];

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
/** What CloudFormation may call for a type: its handlers' actions, and its tagging actions if it is taggable. */
const needed = (type: string) => {
  const schema = schemas[type];
  if (!schema) return [];
  return [
    ...new Set([
      ...schema.create,
      ...schema.update,
      ...schema.delete,
      ...(schema.tagging.taggable ? schema.tagging.permissions : []),
    ]),
  ];
};
/** The types of `types` whose handlers (or tagging) list the action, whatever its case. */
const listing = (action: string, types: string[]) =>
  types.filter((type) => needed(type).some((listed) => listed.toLowerCase() === action.toLowerCase()));
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
        .filter((action) => !exemptionOf(action) && !grantsAction(roleStacks[name].executionRole, action))
        .map((action) => `${type}: ${action}`),
    );
    expect(missing).toEqual([]);
  });

  it("lets CloudFormation create, change and delete each of the stage's log groups, as IAM names them", () => {
    // Each action of AWS::Logs::LogGroup's handlers that is granted at all must be granted on the ARN
    // of every group the template creates, in the form CloudWatch Logs authorizes it (policy.ts).
    const groups = found(resourcesOfType(stages[name], 'AWS::Logs::LogGroup'), 'log group').map(
      ([, group]) => group.Properties.LogGroupName as string,
    );
    expect(groups).toContain(`/aws/http-api/elecle-hello-${name}`);
    const actions = needed('AWS::Logs::LogGroup').filter((action) =>
      grantsAction(roleStacks[name].executionRole, action),
    );
    expect(actions).toEqual(expect.arrayContaining(['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:TagResource']));
    const refused = groups.flatMap((group) =>
      actions
        .filter((action) => !allows(roleStacks[name].executionRole, action, arn('logs', `log-group:${group}`)))
        .map((action) => `${action} on ${group}`),
    );
    expect(refused).toEqual([]);
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
      .filter(([action, why]) => grantsAction(roles.executionRole, action) !== (why.grantedOnly !== undefined))
      .map(([action]) => action);
    expect(wrong).toEqual([]);
    expect(exempted.filter(([action]) => !allNeeded().has(action)).map(([action]) => action)).toEqual([]);
  });

  it('justifies every exemption against the registry schemas and the packaged templates', () => {
    const types = [...new Set([...typesIn(stages.dev), ...typesIn(stages.prod)])];
    const all = [...Object.values(stages.dev.resources), ...Object.values(stages.prod.resources)];
    const ofType = (type: string) =>
      found(
        all.filter((r) => r.Type === type),
        `resource of type ${type}`,
      );
    const problems: string[] = [];
    for (const [action, why] of Object.entries(exemptions)) {
      const listers = listing(action, types);
      const explained = new Set([
        ...Object.keys(why.unusedProperties ?? {}),
        ...Object.keys(why.alwaysSet ?? {}),
        ...Object.keys(why.otherType ?? {}),
        ...(why.grantedOnly?.for ?? []),
      ]);
      if (why.notAnIamAction) {
        // IAM action names are letters and digits after the service prefix.
        if (/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(action)) problems.push(`${action} is an IAM action`);
      } else if (why.authorizedAs) {
        if (!grantsAction(roles.executionRole, why.authorizedAs)) {
          problems.push(`${action}: ${why.authorizedAs}, which authorizes it, is not granted`);
        }
      } else {
        for (const type of listers.filter((t) => !explained.has(t))) problems.push(`${action}: ${type} not explained`);
      }
      for (const type of [...explained].filter((t) => !listers.includes(t))) {
        problems.push(`${action}: ${type} does not list it`);
      }
      // Stack tags reach every taggable resource, so its tagging actions are always called.
      for (const type of listers.filter((t) => schemas[t]?.tagging.taggable)) {
        const tagging = schemas[type]?.tagging.permissions.map((a) => a.toLowerCase()) ?? [];
        if (tagging.includes(action.toLowerCase()) && !why.grantedOnly && !why.authorizedAs) {
          problems.push(`${action}: a tagging action of taggable ${type}`);
        }
      }
      for (const [type, properties] of Object.entries(why.unusedProperties ?? {})) {
        for (const property of properties) {
          if (!schemas[type]?.properties.includes(property)) problems.push(`${action}: ${type} has no ${property}`);
          else if (ofType(type).some((r) => r.Properties[property] !== undefined)) {
            problems.push(`${action}: a ${type} sets ${property}`);
          }
        }
      }
      for (const [type, properties] of Object.entries(why.alwaysSet ?? {})) {
        for (const property of properties) {
          if (!schemas[type]?.properties.includes(property)) problems.push(`${action}: ${type} has no ${property}`);
          else if (ofType(type).some((r) => r.Properties[property] === undefined)) {
            problems.push(`${action}: a ${type} lacks ${property}`);
          }
        }
      }
      for (const [type, other] of Object.entries(why.otherType ?? {})) {
        if (types.includes(other)) {
          problems.push(`${action}: ${type} defers to ${other}, which a template has`);
        }
      }
      if (why.grantedOnly) {
        const statement = roles.executionRole.find((s) => s.Sid === why.grantedOnly?.statement);
        if (!statement || !grantsAction([statement], action)) {
          problems.push(`${action}: statement ${why.grantedOnly.statement} does not grant it`);
        }
      }
    }
    expect(problems).toEqual([]);
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

  it('lets CloudFormation assume the execution role only for this account (aws:SourceAccount)', () => {
    const trust = roles.executionRoleTrust;
    const assume = (context: Record<string, string>) =>
      trust.some(
        (statement) =>
          statement.Effect === 'Allow' &&
          (statement.Principal as { Service?: string }).Service === 'cloudformation.amazonaws.com' &&
          conditionsHold(statement, context),
      );
    expect(assume({ 'aws:SourceAccount': ACCOUNT })).toBe(true);
    expect(assume({ 'aws:SourceAccount': '210987654321' })).toBe(false);
    expect(JSON.stringify(trust)).toContain('aws:SourceAccount');
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
      conditionsHold(statement, context),
  );
}
/** The subject GitHub gives a job in `environment` of owner/repo, in its immutable form (ids after @). */
const immutableSubject = (environment: string, ownerId = OWNER_ID, repositoryId = REPOSITORY_ID) =>
  `repo:owner@${ownerId}/repo@${repositoryId}:environment:${environment}`;

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

/** The tags every resource of a stage's stack carries: osls's stack tag, and CloudFormation's own. */
const tagsOf = (stage: Stage): Record<string, string> => ({
  'aws:ResourceTag/STAGE': stage,
  'aws:ResourceTag/aws:cloudformation:stack-name': `elecle-hello-${stage}`,
});
/**
 * A stage's resources whose IDs AWS generates (one of each kind the templates create, with made-up
 * IDs), which no name pattern can tell apart: its HTTP API and what lies under it (routes and
 * integrations are judged by their API's tags: the Service Authorization Reference lists
 * aws:ResourceTag for them), and its network (prod).
 */
const generatedOf = (stage: Stage) => {
  const api = `api${stage}`;
  const apigateway = (path: string) => `arn:aws:apigateway:${REGION}::${path}`;
  return [
    apigateway(`/apis/${api}`),
    apigateway(`/apis/${api}/stages`),
    apigateway(`/apis/${api}/stages/$default`),
    apigateway(`/apis/${api}/routes`),
    apigateway(`/apis/${api}/routes/route${stage}`),
    apigateway(`/apis/${api}/integrations`),
    apigateway(`/apis/${api}/integrations/integration${stage}`),
    apigateway(`/tags/${encodeURIComponent(apigateway(`/apis/${api}`))}`),
    arn('ec2', `vpc/vpc-${stage}`),
    arn('ec2', `subnet/subnet-${stage}`),
    arn('ec2', `security-group/sg-${stage}`),
    arn('ec2', `vpc-endpoint/vpce-${stage}`),
  ];
};
/** Reading is not acting: Describe*, Get*, List* and API Gateway's GET. */
const readOnly = (action: string) => /^[\w-]+:(Describe|Get|List|GET$)/.test(action);
const serviceOf = (resource: string) => resource.split(':')[2];

describe.each(STAGES)('Roles of stage %s: nothing of the other stage, nor of the role stacks', (name) => {
  const stack = () => roleStacks[name];

  it('lets only a job in the GitHub environment of the same name assume the deploy role, by its immutable subject', () => {
    expect(assumable(stack().trust, immutableSubject(name))).toBe(true);
    expect(assumable(stack().trust, immutableSubject(other(name)))).toBe(false);
    expect(assumable(stack().trust, `repo:owner@${OWNER_ID}/repo@${REPOSITORY_ID}:ref:refs/heads/main`)).toBe(false);
    // A repository or owner that took over the names has other ids.
    expect(assumable(stack().trust, immutableSubject(name, '9999999'))).toBe(false);
    expect(assumable(stack().trust, immutableSubject(name, OWNER_ID, '9999999'))).toBe(false);
    expect(assumable(stack().trust, `repo:someone@${OWNER_ID}/else@${REPOSITORY_ID}:environment:${name}`)).toBe(false);
    // The name-only form, only where the repository still uses it.
    expect(assumable(stack().trust, `repo:owner/repo:environment:${name}`)).toBe(false);
    const nameOnly = loadRoleStack(ROLE_STACK, name, REGION, { NameOnlySubject: 'true' }).trust;
    expect(assumable(nameOnly, `repo:owner/repo:environment:${name}`)).toBe(true);
    expect(assumable(nameOnly, immutableSubject(name))).toBe(true);
    expect(assumable(nameOnly, `repo:owner/repo:environment:${other(name)}`)).toBe(false);
    expect(assumable(nameOnly, immutableSubject(other(name)))).toBe(false);
  });

  it("lets the deploy role drive only this stage's stack and bucket, not the other stage's or a role stack", () => {
    const asOwnRole = {
      'cloudformation:RoleArn': `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${name}-${REGION}-cloudformation`,
    };
    expect(
      allows(
        stack().deployRole,
        'cloudformation:UpdateStack',
        arn('cloudformation', `stack/elecle-hello-${name}/abc`),
        asOwnRole,
      ),
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

  it('acts on no resource of the other stage, named or tagged (a policy simulation over them)', () => {
    const theirs = [...resourcesOf(other(name)), ...generatedOf(other(name))];
    const roles = { deployRole: stack().deployRole, executionRole: stack().executionRole, boundary: stack().boundary };
    const acts = Object.entries(roles).flatMap(([role, statements]) =>
      [...new Set(actionsOf(statements))]
        .filter((action) => !readOnly(action) && !RESOURCELESS_ACTIONS.includes(action))
        .flatMap((action) =>
          theirs
            .filter((resource) => serviceOf(resource) === action.split(':')[0])
            .filter((resource) => allows(statements, action, resource, tagsOf(other(name))))
            .map((resource) => `${role}: ${action} on ${resource}`),
        ),
    );
    expect(
      found(
        theirs.filter((r) => r.includes(':apigateway:') || r.includes(':ec2:')),
        'generated ID',
      ),
    ).toHaveLength(12);
    expect(acts).toEqual([]);
  });

  it('still acts on its own generated resources, and creates new ones', () => {
    const own = generatedOf(name);
    const may = (statements: Statement[], action: string, resource: string, tags = tagsOf(name)) =>
      allows(statements, action, resource, tags);
    const execution = stack().executionRole;
    expect(may(execution, 'apigateway:PATCH', own[0] as string)).toBe(true);
    expect(may(execution, 'apigateway:POST', own[3] as string)).toBe(true);
    expect(may(execution, 'apigateway:TagResource', own[1] as string)).toBe(true);
    expect(may(execution, 'apigateway:DELETE', own[6] as string)).toBe(true);
    expect(may(execution, 'apigateway:POST', `arn:aws:apigateway:${REGION}::/apis`, {})).toBe(true);
    expect(may(execution, 'ec2:AuthorizeSecurityGroupIngress', own[10] as string)).toBe(true);
    expect(may(execution, 'ec2:CreateSecurityGroup', own[8] as string)).toBe(true);
    expect(may(execution, 'ec2:CreateSecurityGroup', arn('ec2', 'security-group/*'), {})).toBe(true);
    // network: existing, a VPC of your own: no stack's tag.
    expect(may(execution, 'ec2:CreateSubnet', arn('ec2', 'vpc/vpc-yours'), {})).toBe(true);
    expect(may(stack().boundary, 'ec2:CreateNetworkInterface', own[9] as string)).toBe(true);
    expect(may(stack().boundary, 'ec2:CreateNetworkInterface', arn('ec2', 'network-interface/*'), {})).toBe(true);
  });

  it("changes the stack only as this stage's execution role, named in the request (cloudformation:RoleArn)", () => {
    const stackArn = arn('cloudformation', `stack/elecle-hello-${name}/abc`);
    const own = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${name}-${REGION}-cloudformation`;
    const others = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${other(name)}-${REGION}-cloudformation`;
    const changes = ['CreateStack', 'UpdateStack', 'CreateChangeSet', 'ContinueUpdateRollback'];
    for (const action of changes.map((a) => `cloudformation:${a}`)) {
      expect(allows(stack().deployRole, action, stackArn, { 'cloudformation:RoleArn': own }), action).toBe(true);
      expect(allows(stack().deployRole, action, stackArn), `${action} without a role`).toBe(false);
      expect(allows(stack().deployRole, action, stackArn, { 'cloudformation:RoleArn': others }), action).toBe(false);
    }
    // Only dev's deploy role removes its stack; prod's is removed by an administrator.
    const remove = allows(stack().deployRole, 'cloudformation:DeleteStack', stackArn, {
      'cloudformation:RoleArn': own,
    });
    expect(remove).toBe(name === 'dev');
    expect(allows(stack().deployRole, 'cloudformation:DeleteStack', stackArn)).toBe(false);
    expect(allows(stack().deployRole, 'cloudformation:UpdateTerminationProtection', stackArn)).toBe(true);
  });

  it('deletes old versions of its functions after a deploy, never a function', () => {
    const fn = arn('lambda', `function:elecle-hello-${name}-hello`);
    expect(allows(stack().deployRole, 'lambda:ListVersionsByFunction', fn)).toBe(true);
    expect(allows(stack().deployRole, 'lambda:ListAliases', fn)).toBe(true);
    expect(allows(stack().deployRole, 'lambda:DeleteFunction', `${fn}:7`)).toBe(true);
    expect(allows(stack().deployRole, 'lambda:DeleteFunction', fn)).toBe(false);
    expect(allows(stack().deployRole, 'lambda:DeleteFunction', arn('lambda', 'function:other-service:7'))).toBe(false);
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
    const executionRole = `arn:aws:iam::${ACCOUNT}:role/elecle-hello-dev-${REGION}-cloudformation`;
    for (const action of ['cloudformation:ContinueUpdateRollback', 'cloudformation:SetStackPolicy']) {
      expect(allows(roles.deployRole, action, stack, { 'cloudformation:RoleArn': executionRole }), action).toBe(true);
    }
    expect(
      allows(roles.deployRole, 'iam:PassRole', executionRole, { 'iam:PassedToService': 'lambda.amazonaws.com' }),
    ).toBe(false);
    const deployActions = found(actionsOf(roles.deployRole), 'deploy role action');
    expect(deployActions.filter((action) => action.startsWith('iam:') && action !== 'iam:PassRole')).toEqual([]);
  });
});
