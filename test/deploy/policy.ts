// Just enough IAM evaluation for the deploy-role tests: Allow statements, glob patterns in Action and
// Resource, StringEquals conditions. The policies under test use nothing else (no Deny, NotAction).
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
const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

/**
 * Resolves Fn::Sub, Fn::Join, Ref and Fn::GetAtt as CloudFormation would in account ACCOUNT and `region`;
 * a name not in `names` becomes `<Name>`, which matches no ARN pattern by accident.
 */
export function resolve(value: unknown, names: Record<string, string>, region = REGION): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, names, region));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': region, 'AWS::AccountId': ACCOUNT };
  if ('Fn::Sub' in object) {
    const text = object['Fn::Sub'] as string;
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => pseudo[name] ?? names[name] ?? `<${name}>`);
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return (resolve(parts, names, region) as unknown[]).join(separator);
  }
  if ('Ref' in object) return pseudo[object.Ref as string] ?? names[object.Ref as string] ?? `<${object.Ref}>`;
  if ('Fn::GetAtt' in object) return names[(object['Fn::GetAtt'] as string[])[0] as string] ?? '<GetAtt>';
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolve(item, names, region)]));
}

interface RoleTemplate {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

export type Stage = 'dev' | 'prod';
export const STAGES: Stage[] = ['dev', 'prod'];

/** deploy/github-deploy-role.yml as deployed for Repository=owner/repo, `stage` and `region`. */
export function loadRoleStack(file: string, stage: Stage, region = REGION) {
  const template = yamlParse(readFileSync(file, 'utf8')) as RoleTemplate;
  const names: Record<string, string> = {
    Repository: 'owner/repo',
    Stage: stage,
    StackRoleBoundary: `arn:aws:iam::${ACCOUNT}:policy/elecle-hello-${stage}-${region}-boundary`,
    CloudFormationExecutionRole: `arn:aws:iam::${ACCOUNT}:role/elecle-hello-${stage}-${region}-cloudformation`,
  };
  const resources = resolve(template.Resources, names, region) as RoleTemplate['Resources'];
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
    deployRole: inline('GitHubDeployRole'),
    trust: (properties('GitHubDeployRole').AssumeRolePolicyDocument as { Statement: Statement[] }).Statement,
    boundary: document('StackRoleBoundary'),
  };
}

/** Whether a statement's Resource (not its action or conditions) covers the ARN. */
export const coversResource = (statement: Statement, resource: string) =>
  list(statement.Resource).some((pattern) => glob(pattern).test(resource));

export const actionsOf = (statements: Statement[]) => statements.flatMap((statement) => list(statement.Action));

/** Whether an Allow statement grants the action on the resource with this request context. */
export function allows(statements: Statement[], action: string, resource = '*', context: Record<string, string> = {}) {
  return statements.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).some((pattern) => glob(pattern).test(action)) &&
      list(statement.Resource).some((pattern) => glob(pattern).test(resource)) &&
      Object.entries(statement.Condition ?? {}).every(
        ([operator, keys]) =>
          operator === 'StringEquals' &&
          Object.entries(keys).every(([key, values]) => list(values).includes(context[key] ?? '')),
      ),
  );
}

/** Whether the action is granted on any resource (conditions aside). */
export const grantsAction = (statements: Statement[], action: string) =>
  statements.some((statement) => list(statement.Action).some((pattern) => glob(pattern).test(action)));
