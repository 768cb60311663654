// Just enough IAM evaluation for the deploy-role tests, matching as IAM matches:
// - action names ignore case (s3:getObject is s3:GetObject); ARNs are case-sensitive;
// - CloudWatch Logs authorizes the log-group actions in LOG_GROUP_STAR_ACTIONS against
//   `arn:...:log-group:NAME:*`, not the bare `log-group:NAME` (which only the tagging actions use):
//   `allows` asks about the ARN IAM would see, so a grant on the bare ARN does not cover them;
// - an explicit Deny wins over any Allow;
// - conditions: StringEquals, StringEqualsIfExists, StringLike, ArnEquals and ArnLike (a key missing
//   from the request fails all but ...IfExists). Any other operator throws: a test must not pass
//   because this file did not understand a policy.
import { readFileSync } from 'node:fs';
import { yamlParse } from 'yaml-cfn';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
const list = <T>(value: T | T[]) => (Array.isArray(value) ? value : [value]);
const glob = (pattern: string, flags = '') =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    flags,
  );
/** Action names are not case-sensitive in IAM. */
const actionMatches = (pattern: string, action: string) => glob(pattern, 'i').test(action);
/** Resource ARNs are. */
const resourceMatches = (pattern: string, resource: string) => glob(pattern).test(resource);

/**
 * CloudWatch Logs actions authorized against `arn:...:log-group:NAME:*` (a policy naming the bare
 * log-group ARN does not grant them): those that create, delete or change the retention of a group.
 */
export const LOG_GROUP_STAR_ACTIONS = [
  'logs:CreateLogGroup',
  'logs:DeleteLogGroup',
  'logs:PutRetentionPolicy',
  'logs:DeleteRetentionPolicy',
];

/** The resource ARN IAM evaluates for `action` on `resource`. */
export function requestResource(action: string, resource: string): string {
  const logGroup = /^(arn:[^:]+:logs:[^:]*:\d*:log-group:[^:]+)$/.exec(resource);
  if (logGroup && LOG_GROUP_STAR_ACTIONS.some((star) => star.toLowerCase() === action.toLowerCase())) {
    return `${logGroup[1]}:*`;
  }
  return resource;
}

type Context = Record<string, string>;
const CONDITIONS: Record<string, (values: string[], actual: string | undefined) => boolean> = {
  StringEquals: (values, actual) => actual !== undefined && values.includes(actual),
  StringEqualsIfExists: (values, actual) => actual === undefined || values.includes(actual),
  StringLike: (values, actual) => actual !== undefined && values.some((value) => glob(value).test(actual)),
  // IAM's ArnEquals takes wildcards too.
  ArnEquals: (values, actual) => actual !== undefined && values.some((value) => glob(value).test(actual)),
  ArnLike: (values, actual) => actual !== undefined && values.some((value) => glob(value).test(actual)),
};
/** Whether every condition of the statement holds for the request context. */
export function conditionsHold(statement: Statement, context: Context): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) => {
    const test = CONDITIONS[operator];
    if (!test) throw new Error(`policy.ts does not evaluate the condition operator ${operator}`);
    return Object.entries(keys).every(([key, values]) => test(list(values), context[key]));
  });
}

/** Whether the statement applies to the action on the resource with this request context. */
function applies(statement: Statement, action: string, resource: string, context: Context) {
  const requested = requestResource(action, resource);
  return (
    list(statement.Action).some((pattern) => actionMatches(pattern, action)) &&
    list(statement.Resource).some((pattern) => resourceMatches(pattern, requested)) &&
    conditionsHold(statement, context)
  );
}

/**
 * Resolves Fn::Sub (both forms), Fn::Join, Fn::Select, Fn::Split, Fn::If, Ref and Fn::GetAtt as
 * CloudFormation would in account ACCOUNT and `region`; a name not in `names` becomes `<Name>`, which
 * matches no ARN pattern by accident. `conditions` are the template's conditions, already decided.
 */
export function resolve(
  value: unknown,
  names: Record<string, string>,
  region = REGION,
  conditions: Record<string, boolean> = {},
): unknown {
  const again = (item: unknown, extra: Record<string, string> = {}) =>
    resolve(item, { ...names, ...extra }, region, conditions);
  if (Array.isArray(value)) return value.map((item) => again(item)).filter((item) => item !== NO_VALUE);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': region, 'AWS::AccountId': ACCOUNT };
  if ('Fn::Sub' in object) {
    const sub = object['Fn::Sub'];
    const [text, variables] = Array.isArray(sub) ? (sub as [string, Record<string, unknown>]) : [sub as string, {}];
    const local = Object.fromEntries(Object.entries(variables).map(([name, item]) => [name, String(again(item))]));
    return text.replace(
      /\$\{([^}]+)\}/g,
      (_, name: string) => local[name] ?? pseudo[name] ?? names[name] ?? `<${name}>`,
    );
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return (again(parts) as unknown[]).join(separator);
  }
  if ('Fn::Split' in object) {
    const [separator, text] = object['Fn::Split'] as [string, unknown];
    return String(again(text)).split(separator);
  }
  if ('Fn::Select' in object) {
    const [index, items] = object['Fn::Select'] as [number | string, unknown];
    return (again(items) as unknown[])[Number(index)];
  }
  if ('Fn::If' in object) {
    const [condition, whenTrue, whenFalse] = object['Fn::If'] as [string, unknown, unknown];
    if (!(condition in conditions)) throw new Error(`condition ${condition} was not decided`);
    return again(conditions[condition] ? whenTrue : whenFalse);
  }
  if ('Ref' in object) {
    if (object.Ref === 'AWS::NoValue') return NO_VALUE;
    return pseudo[object.Ref as string] ?? names[object.Ref as string] ?? `<${object.Ref}>`;
  }
  if ('Fn::GetAtt' in object) return names[(object['Fn::GetAtt'] as string[])[0] as string] ?? '<GetAtt>';
  return Object.fromEntries(
    Object.entries(object)
      .map(([key, item]) => [key, again(item)])
      .filter(([, item]) => item !== NO_VALUE),
  );
}
const NO_VALUE = Symbol('AWS::NoValue');

interface RoleTemplate {
  Parameters: Record<string, { Default?: string }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

export type Stage = 'dev' | 'prod';
export const STAGES: Stage[] = ['dev', 'prod'];
export const OWNER_ID = '1111111';
export const REPOSITORY_ID = '2222222';

/** Decides a template condition from the parameters (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition). */
function decide(condition: unknown, parameters: Record<string, string>, all: Record<string, unknown>): boolean {
  const object = condition as Record<string, unknown>;
  const value = (item: unknown) => resolve(item, parameters);
  if ('Fn::Equals' in object) {
    const [left, right] = object['Fn::Equals'] as [unknown, unknown];
    return value(left) === value(right);
  }
  if ('Fn::Not' in object) return !decide((object['Fn::Not'] as unknown[])[0], parameters, all);
  if ('Fn::And' in object) return (object['Fn::And'] as unknown[]).every((c) => decide(c, parameters, all));
  if ('Fn::Or' in object) return (object['Fn::Or'] as unknown[]).some((c) => decide(c, parameters, all));
  if ('Condition' in object) return decide(all[object.Condition as string], parameters, all);
  throw new Error(`cannot decide condition ${JSON.stringify(condition)}`);
}

/**
 * deploy/github-deploy-role.yml as deployed for Repository=owner/repo (owner id OWNER_ID, repository id
 * REPOSITORY_ID), `stage` and `region`; `parameters` overrides any parameter.
 */
export function loadRoleStack(file: string, stage: Stage, region = REGION, parameters: Record<string, string> = {}) {
  const template = yamlParse(readFileSync(file, 'utf8')) as RoleTemplate;
  const given: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(template.Parameters).flatMap(([name, p]) => (p.Default === undefined ? [] : [[name, p.Default]])),
    ),
    Repository: 'owner/repo',
    RepositoryOwnerId: OWNER_ID,
    RepositoryId: REPOSITORY_ID,
    Stage: stage,
    ...parameters,
  };
  const missing = Object.keys(template.Parameters).filter((name) => given[name] === undefined);
  if (missing.length > 0) throw new Error(`no value for parameters ${missing.join(', ')}`);
  const conditions = Object.fromEntries(
    Object.entries(template.Conditions ?? {}).map(([name, c]) => [name, decide(c, given, template.Conditions ?? {})]),
  );
  const names: Record<string, string> = {
    ...given,
    StackRoleBoundary: `arn:aws:iam::${ACCOUNT}:policy/elecle-hello-${stage}-${region}-boundary`,
    CloudFormationExecutionRole: `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${stage}-${region}-cloudformation`,
  };
  const resources = resolve(template.Resources, names, region, conditions) as RoleTemplate['Resources'];
  const properties = (name: string) => {
    const resource = resources[name];
    if (!resource) throw new Error(`${file} has no resource ${name}`);
    return resource.Properties;
  };
  const document = (name: string) => (properties(name).PolicyDocument as { Statement: Statement[] }).Statement;
  const inline = (name: string) =>
    (properties(name).Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );
  /** Every IAM name the stack gives (roles, managed policies): account-wide, so they must not collide. */
  const iamNames = Object.values(resources).flatMap((resource) =>
    [resource.Properties.RoleName, resource.Properties.ManagedPolicyName].filter((n) => n !== undefined).map(String),
  );
  return {
    properties,
    iamNames,
    executionRole: [...document('CreateFunctionsAndApi'), ...document('CreateStoresAndMonitoring')],
    executionRoleTrust: (
      properties('CloudFormationExecutionRole').AssumeRolePolicyDocument as { Statement: Statement[] }
    ).Statement,
    deployRole: inline('GitHubDeployRole'),
    trust: (properties('GitHubDeployRole').AssumeRolePolicyDocument as { Statement: Statement[] }).Statement,
    boundary: document('StackRoleBoundary'),
  };
}

/** Whether a statement's Resource (not its action or conditions) covers the ARN. */
export const coversResource = (statement: Statement, resource: string) =>
  list(statement.Resource).some((pattern) => resourceMatches(pattern, resource));

export const actionsOf = (statements: Statement[]) => statements.flatMap((statement) => list(statement.Action));

/**
 * Whether the statements allow the action on the resource with this request context: some Allow
 * applies and no Deny does.
 */
export function allows(statements: Statement[], action: string, resource = '*', context: Context = {}) {
  const matching = statements.filter((statement) => applies(statement, action, resource, context));
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}

/** Whether the action is granted on any resource (conditions aside). */
export const grantsAction = (statements: Statement[], action: string) =>
  statements.some(
    (statement) =>
      statement.Effect === 'Allow' && list(statement.Action).some((pattern) => actionMatches(pattern, action)),
  );

/**
 * Actions for which the Service Authorization Reference lists no resource type: a statement naming an
 * ARN for them matches nothing, so they must be granted on "*" (codedeploy: the reference's CodeDeploy
 * page, as generated into udondan/iam-floyd lib/generated/policy-statements/codedeploy.ts; the log
 * deliveries: "Configuring logging for an HTTP API" grants them on "*").
 */
export const RESOURCELESS_ACTIONS = [
  'codedeploy:GetDeploymentTarget',
  'codedeploy:ListDeploymentTargets',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'cloudwatch:DescribeAlarms',
  'cloudformation:ValidateTemplate',
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:UpdateLogDelivery',
];
