// The policy evaluation the deploy-role tests rely on (policy.ts) matches as IAM matches: if it were
// looser than IAM, a grant AWS refuses would pass here (issue 22: a log group granted by its bare ARN,
// ARNs compared without case).
import { describe, expect, it } from 'vitest';
import { allows, requestResource, type Statement } from './policy';

const group = 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/http-api/elecle-hello-dev';
const grant = (Resource: string | string[], Action: string | string[] = 'logs:CreateLogGroup'): Statement[] => [
  { Effect: 'Allow', Action, Resource },
];

describe('policy.ts evaluates as IAM does', () => {
  it('authorizes creating, deleting and retention of a log group against log-group:NAME:*', () => {
    for (const action of [
      'logs:CreateLogGroup',
      'logs:DeleteLogGroup',
      'logs:PutRetentionPolicy',
      'logs:DeleteRetentionPolicy',
    ]) {
      expect(requestResource(action, group)).toBe(`${group}:*`);
      expect(allows(grant(group, action), action, group), action).toBe(false);
      expect(allows(grant(`${group}:*`, action), action, group), action).toBe(true);
    }
  });

  it('authorizes tagging a log group against its bare ARN', () => {
    expect(requestResource('logs:TagResource', group)).toBe(group);
    expect(allows(grant(group, 'logs:TagResource'), 'logs:TagResource', group)).toBe(true);
    expect(allows(grant(`${group}:*`, 'logs:TagResource'), 'logs:TagResource', group)).toBe(false);
  });

  it('covers both forms with a trailing wildcard in the name', () => {
    const pattern = 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/elecle-hello-dev-*';
    const lambdaGroup = 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/elecle-hello-dev-hello';
    expect(allows(grant(pattern), 'logs:CreateLogGroup', lambdaGroup)).toBe(true);
    expect(allows(grant(pattern, 'logs:TagResource'), 'logs:TagResource', lambdaGroup)).toBe(true);
  });

  it('compares ARNs with case, and action names without', () => {
    const table = 'arn:aws:dynamodb:eu-west-1:123456789012:table/elecle-hello-dev-counters';
    const grantTable = grant(table, 'dynamodb:UpdateItem');
    expect(allows(grantTable, 'dynamodb:UpdateItem', table)).toBe(true);
    expect(allows(grantTable, 'dynamodb:UpdateItem', table.replace('elecle', 'Elecle'))).toBe(false);
    expect(allows(grantTable, 'DynamoDB:updateitem', table)).toBe(true);
  });

  it('lets an explicit Deny win, and refuses a condition key the request lacks unless ...IfExists', () => {
    const resource = 'arn:aws:ec2:eu-west-1:123456789012:security-group/sg-1';
    const key = 'aws:ResourceTag/aws:cloudformation:stack-name';
    const strict: Statement[] = [
      { Effect: 'Allow', Action: 'ec2:*', Resource: '*', Condition: { StringEquals: { [key]: 'elecle-hello-dev' } } },
    ];
    const ifExists: Statement[] = [
      {
        Effect: 'Allow',
        Action: 'ec2:*',
        Resource: '*',
        Condition: { StringEqualsIfExists: { [key]: 'elecle-hello-dev' } },
      },
    ];
    expect(allows(strict, 'ec2:DeleteSecurityGroup', resource)).toBe(false);
    expect(allows(ifExists, 'ec2:DeleteSecurityGroup', resource)).toBe(true);
    expect(allows(ifExists, 'ec2:DeleteSecurityGroup', resource, { [key]: 'elecle-hello-prod' })).toBe(false);
    const denied: Statement[] = [...ifExists, { Effect: 'Deny', Action: 'ec2:DeleteSecurityGroup', Resource: '*' }];
    expect(allows(denied, 'ec2:DeleteSecurityGroup', resource)).toBe(false);
  });

  it('refuses to judge a condition operator it does not know', () => {
    const odd: Statement[] = [
      { Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { NumericLessThan: { 'a:b': '1' } } },
    ];
    expect(() => allows(odd, 's3:GetObject', 'arn:aws:s3:::b/k')).toThrow(/NumericLessThan/);
  });
});
