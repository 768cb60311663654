// The "Deploy to AWS" walkthrough (docs/deploying.md), the README's short version of it, and their
// numbers, checked against the packaged templates and the role stack's template: a change to one
// without the other fails here.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';
import { packagedStage } from '../support/packaged-once';
import { type CfnResource, type PackagedStage, resourcesOfType } from '../support/packaged-stage';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const stages: Record<'dev' | 'prod', PackagedStage> = {} as never;

beforeAll(async () => {
  stages.dev = await packagedStage('dev');
  stages.prod = await packagedStage('prod');
}, 120_000);

/** A markdown file of the repository from a `## ` heading to the next one. */
function section(file: string, heading: string): string {
  const text = readFileSync(`${ROOT}${file}`, 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`${file} has no section "${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}
const deploySection = () => section('docs/deploying.md', 'Deploy to AWS');
const number = (text: string | undefined) => Number((text ?? 'NaN').replace(/,/g, ''));
const resource = (stage: PackagedStage, id: string) => {
  expect(stage.resources[id], id).toBeDefined();
  return stage.resources[id] as CfnResource;
};

/** The rows of the markdown table whose header has `column`, as objects keyed by header cell. */
function table(text: string, column: string): Record<string, string>[] {
  const lines = text.split('\n');
  const headerAt = lines.findIndex((line) => line.startsWith('|') && line.includes(`| ${column} |`));
  if (headerAt < 0) throw new Error(`no table with a column "${column}"`);
  const cells = (line: string) =>
    line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim());
  const header = cells(lines[headerAt] as string);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(headerAt + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(Object.fromEntries(cells(line).map((cell, i) => [header[i], cell])));
  }
  return rows;
}

describe('docs/deploying.md "Deploy to AWS": the role stacks', () => {
  const commands = () =>
    [...deploySection().matchAll(/aws cloudformation deploy [^`]*?(?=\naws |\n```)/g)].map((m) => m[0]);
  /** The command of the given stage's role stack. */
  const command = (stage = 'dev') => {
    const match = commands().find((c) => c.includes('deploy/github-deploy-role.yml') && c.includes(`Stage=${stage}`));
    if (!match) throw new Error(`no role stack command for Stage=${stage} in "Deploy to AWS"`);
    return match;
  };
  const templatePath = () => command().match(/--template-file (\S+)/)?.[1] ?? '';
  const template = () =>
    yamlParse(readFileSync(`${ROOT}${templatePath()}`, 'utf8')) as {
      Parameters: Record<string, { Default?: string }>;
      Outputs: Record<string, unknown>;
      Resources: Record<string, CfnResource>;
    };

  it('names a template that exists', () => {
    expect(templatePath()).toBe('deploy/github-deploy-role.yml');
    expect(existsSync(`${ROOT}${templatePath()}`)).toBe(true);
  });

  it('deploys the OIDC provider once, and a role stack for each stage', () => {
    expect(commands().filter((c) => c.includes('deploy/github-oidc-provider.yml'))).toHaveLength(1);
    expect(command('dev')).not.toBe(command('prod'));
  });

  it.each(['dev', 'prod'])(
    "passes every parameter without a default, and only the template's parameters (%s)",
    (stage) => {
      const passed = [...command(stage).matchAll(/\s(\w+)=/g)].map((m) => m[1]);
      expect(passed.length).toBeGreaterThan(0);
      const parameters = Object.entries(template().Parameters);
      expect(parameters.length).toBeGreaterThan(0);
      expect(passed.filter((name) => !template().Parameters[name as string])).toEqual([]);
      const required = parameters.filter(([, parameter]) => parameter.Default === undefined).map(([name]) => name);
      expect(required.filter((name) => !passed.includes(name))).toEqual([]);
      // The optional ones are explained in the text.
      for (const [name] of parameters) expect(deploySection()).toContain(name);
    },
  );

  it('acknowledges named IAM resources, as the template has roles with names', () => {
    const named = Object.values(template().Resources).filter(
      (r) => r.Type.startsWith('AWS::IAM::') && (r.Properties.RoleName || r.Properties.ManagedPolicyName),
    );
    expect(named.length).toBeGreaterThan(0);
    expect(command()).toContain('--capabilities CAPABILITY_NAMED_IAM');
  });

  it('names the outputs the later steps use, and the boundary the stages need', () => {
    const outputs = Object.keys(template().Outputs);
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) expect(deploySection()).toContain(output);
    const name = template().Resources.StackRoleBoundary?.Properties.ManagedPolicyName as { 'Fn::Sub': string };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub, not a JS template
    expect(name['Fn::Sub']).toBe('elecle-hello-${Stage}-${AWS::Region}-boundary');
    expect(deploySection()).toContain('`elecle-hello-<stage>-<region>-boundary`');
    const boundaryFile = readFileSync(`${ROOT}deploy/boundary.yml`, 'utf8');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: osls and Fn::Sub variables, not a JS template
    expect(boundaryFile).toContain('policy/elecle-hello-${sls:stage}-${AWS::Region}-boundary');
  });
});

describe('"Deploy to AWS": the walkthrough and the README name one region', () => {
  /** Steps 1 to 4: from "Before you start" to "Not checked here". */
  const walkthrough = () => {
    const text = deploySection();
    return text.slice(text.indexOf('**Before you start.**'), text.indexOf('**Not checked here**'));
  };
  /** Every `aws ...` and `npx sls ...` command in the code blocks and inline code of `markdown`, continuation lines joined. */
  const awsCommands = (markdown = walkthrough()) => {
    const text = markdown.replace(/\\\n\s*/g, ' ');
    const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').split('\n'));
    const inline = [...text.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) =>
      (m[1] ?? '').replace(/\n/g, ' '),
    );
    return [...blocks, ...inline].flatMap((line) =>
      [...line.matchAll(/(?:^|\$\()\s*((?:aws|npx sls) [^|)#]*)/g)].map((m) => m[1]?.trim() ?? ''),
    );
  };

  it('passes the same --region to every AWS CLI and sls command, one with zone IDs for its subnets', () => {
    // `aws configure` sets up credentials; it calls no AWS API.
    const commands = awsCommands().filter((c) => !c.startsWith('aws configure'));
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.filter((c) => !/--region \S+/.test(c))).toEqual([]);
    const regions = new Set(commands.map((c) => c.match(/--region (\S+)/)?.[1]));
    expect(regions.size).toBe(1);
    const zones = readFileSync(`${ROOT}deploy/network/zone-ids.yml`, 'utf8');
    expect(zones).toMatch(new RegExp(`^${[...regions][0]}:`, 'm'));
  });

  it("the README's short version passes the walkthrough's --region to each of its commands", () => {
    const readme = awsCommands(section('README.md', 'Deploy to AWS'));
    expect(readme.length).toBeGreaterThan(2);
    const region = awsCommands()[0]?.match(/--region (\S+)/)?.[1];
    expect(readme.filter((c) => !c.includes(`--region ${region}`))).toEqual([]);
  });

  it('says what a role stack covers: one stage in one region', () => {
    expect(walkthrough()).toMatch(/one\s+role stack per stage, each covering that stage in one region only/);
  });
});

describe('docs/deploying.md "Deploy to AWS": numbers equal those in the packaged templates', () => {
  const routeFunctions = (stage: PackagedStage) =>
    ['HelloLambdaFunction', 'HelloAgainLambdaFunction', 'HealthLambdaFunction'].map((id) => resource(stage, id));

  it('lists the routes the deploy prints', () => {
    const printed = [...deploySection().matchAll(/^ {2}GET - https:\/\/\S+?\.com(\/\S*)$/gm)].map((m) => `GET ${m[1]}`);
    const routes = resourcesOfType(stages.dev, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(routes.length).toBeGreaterThan(0);
    expect(printed.sort()).toEqual(routes.sort());
  });

  it.each(['dev', 'prod'] as const)('stage table: reserved concurrency and log retention of %s', (name) => {
    const row = table(deploySection(), 'reserved concurrency (per function)').find((r) => r.stage === `\`${name}\``);
    expect(row).toBeDefined();
    const reserved = resource(stages[name], 'HelloLambdaFunction').Properties.ReservedConcurrentExecutions;
    expect(row?.['reserved concurrency (per function)']).toBe(reserved === undefined ? 'none' : String(reserved));
    const retention = resourcesOfType(stages[name], 'AWS::Logs::LogGroup').map(([, g]) => g.Properties.RetentionInDays);
    expect(retention.length).toBeGreaterThan(0);
    for (const days of retention) expect(row?.['logs kept']).toBe(`${days} days`);
  });

  it('prod reservation and the account limit it needs: 2 × counting + health, plus 100 unreserved', () => {
    const [hello, helloAgain, health] = routeFunctions(stages.prod).map(
      (fn) => fn.Properties.ReservedConcurrentExecutions as number,
    );
    expect(hello).toBe(helloAgain);
    const total = (hello as number) + (helloAgain as number) + (health as number);
    expect(deploySection()).toContain(`2 × ${hello} + ${health} = ${total}`);
    expect(deploySection()).toContain(`at least ${total + 100}`);
  });

  it('dev reserves none, so the walkthrough may say it deploys on a limit of 10', () => {
    for (const fn of routeFunctions(stages.dev)) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(deploySection()).toMatch(/dev reserves no(ne| concurrency)/);
  });

  it('route throttling per stage and route (Capacity table)', () => {
    const row = table(deploySection(), 'holds').find((r) => r.store === 'HTTP API throttle, per route');
    expect(row).toBeDefined();
    const settings = (stage: PackagedStage) =>
      resource(stage, 'HttpApiStage').Properties.RouteSettings as Record<
        string,
        { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }
      >;
    for (const name of ['dev', 'prod'] as const) {
      const match = (row?.holds ?? '').match(
        new RegExp(
          `${name}: \`/hello\` and \`/hello/again\` ([\\d,]+) req/s \\(burst ([\\d,]+)\\) each, \`/health\` ([\\d,]+) req/s \\(burst ([\\d,]+)\\)`,
        ),
      );
      expect(match, name).not.toBeNull();
      const [, countingRate, countingBurst, healthRate, healthBurst] = (match as RegExpMatchArray).map(number);
      for (const key of ['GET /hello', 'GET /hello/again']) {
        expect(settings(stages[name])[key], `${name} ${key}`).toEqual({
          ThrottlingRateLimit: countingRate,
          ThrottlingBurstLimit: countingBurst,
        });
      }
      expect(settings(stages[name])['GET /health']).toEqual({
        ThrottlingRateLimit: healthRate,
        ThrottlingBurstLimit: healthBurst,
      });
    }
  });

  it("the cache's ECPU cap (Capacity table)", () => {
    const readme = Number(deploySection().match(/`ECPUPerSecond\.Maximum: (\d+)`/)?.[1]);
    const limits = resource(stages.prod, 'Cache').Properties.CacheUsageLimits as { ECPUPerSecond: { Maximum: number } };
    expect(readme).toBe(limits.ECPUPerSecond.Maximum);
  });

  it('memory size (Memory size)', () => {
    const readme = Number(deploySection().match(/^(\d+) MB, chosen/m)?.[1]);
    for (const name of ['dev', 'prod'] as const) {
      for (const fn of routeFunctions(stages[name])) expect(fn.Properties.MemorySize).toBe(readme);
    }
  });

  it("Security names every DynamoDB action the dev functions' role gets", () => {
    const security = deploySection().slice(deploySection().indexOf('**Security:**'));
    const policies = resource(stages.dev, 'IamRoleLambdaExecution').Properties.Policies as {
      PolicyDocument: { Statement: { Action: string[] }[] };
    }[];
    const actions = policies
      .flatMap((policy) => policy.PolicyDocument.Statement.flatMap((statement) => statement.Action))
      .filter((action) => action.startsWith('dynamodb:'));
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(security.slice(0, security.indexOf('\n\n'))).toContain(`\`${action}\``);
  });

  it('the p99 alarm threshold (Operate it)', () => {
    const readme = number(
      section('docs/operating.md', 'Operate it').match(/`p99DurationAlarmMs` \(([\d,]+) ms\)/)?.[1] ?? 'NaN',
    );
    for (const name of ['dev', 'prod'] as const) {
      expect(resource(stages[name], 'SlowRequestsAlarm').Properties.Threshold).toBe(readme);
    }
  });
});
