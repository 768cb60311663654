import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';
import { found } from '../support/found';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Exit code and output of a checker; a missing checker is a failure with an install hint. */
async function check(command: string, args: string[]) {
  return run(command, args, { cwd: ROOT }).then(
    () => ({ code: 0, output: '' }),
    (error: { code: number | string; stdout?: string; stderr?: string }) => ({
      code: error.code,
      output: error.code === 'ENOENT' ? `${command} is not installed` : `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
}

describe('CI files that cannot run here', () => {
  it("has a GitHub Actions workflow that matches GitHub's schema", async () => {
    expect(await check('node_modules/.bin/action-validator', ['.github/workflows/ci.yml'])).toEqual({
      code: 0,
      output: '',
    });
  });

  it('has role and OIDC provider templates that pass cfn-lint', async () => {
    const templates = ['deploy/github-deploy-role.yml', 'deploy/github-oidc-provider.yml'];
    expect(await check('cfn-lint', ['--', ...templates])).toEqual({ code: 0, output: '' });
  });
});

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string | boolean>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  environment?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}

const jobs = () =>
  (yamlParse(readFileSync(`${ROOT}.github/workflows/ci.yml`, 'utf8')) as { jobs: Record<string, Job> }).jobs;
const runs = (job: Job | undefined) => (job?.steps ?? []).map((step) => step.run ?? '').join('\n');
const needs = (job: Job | undefined) => [job?.needs ?? []].flat();
/** The jobs a job waits for, directly or through others. */
const upstream = (id: string): string[] => needs(jobs()[id]).flatMap((need) => [need, ...upstream(need)]);
const STAGE_NAMES = ['dev', 'prod'];

describe('Deploy jobs', () => {
  it('deploys dev and smoke-tests it, after the tests', () => {
    const dev = jobs().deploy;
    expect(dev?.environment).toBe('dev');
    expect(upstream('deploy')).toContain('test');
    expect(runs(dev)).toMatch(/sls deploy --stage dev[^\n]*\n[\s\S]*npm run smoke/);
  });

  it('deploys prod only after dev deployed and passed, in the prod environment (its reviewers approve)', () => {
    const prod = jobs()['deploy-prod'];
    expect(prod?.environment).toBe('prod');
    expect(needs(prod)).toContain('deploy');
    expect(runs(prod)).toContain('sls deploy --stage prod');
    expect(runs(prod)).toContain('/health');
  });
});

describe('The jobs that hold an AWS token', () => {
  const withToken = () =>
    found(
      Object.entries(jobs()).filter(([, job]) => job.permissions?.['id-token'] === 'write'),
      'job with id-token: write',
    );
  const packaging = () =>
    Object.entries(jobs()).filter(([, job]) => /sls package/.test(runs(job)) && !/npm test/.test(runs(job)));

  it('run no install script: every npm install there passes --ignore-scripts', () => {
    for (const [id, job] of withToken()) {
      const installs = found([...runs(job).matchAll(/npm (?:ci|install|i)\b[^\n]*/g)], `npm install in ${id}`);
      expect(
        installs.map((m) => m[0]).filter((line) => !line.includes('--ignore-scripts')),
        id,
      ).toEqual([]);
      expect(runs(job), id).not.toMatch(/sls package|npx (?!sls )\S/);
    }
  });

  it('deploy the package that a job without a token built and checked before them', () => {
    const [packager, ...others] = found(packaging(), 'packaging job');
    expect(others).toEqual([]);
    const [packageId, packageJob] = packager as [string, Job];
    expect(packageJob.permissions?.['id-token'], packageId).toBeUndefined();
    for (const stage of STAGE_NAMES) {
      // Packaged once per stage, checked, and uploaded.
      const packaged = [
        ...runs(packageJob).matchAll(new RegExp(`sls package --stage ${stage} .*--package (\\S+)`, 'g')),
      ];
      expect(
        packaged.map((m) => m[1]),
        stage,
      ).toEqual([`artifacts/${stage}`]);
      expect(runs(packageJob)).toContain(
        `cfn-lint --ignore-checks W3005 -- artifacts/${stage}/cloudformation-template-update-stack.json`,
      );
      const uploads = packageJob.steps.filter((step) => step.uses?.startsWith('actions/upload-artifact@'));
      expect(
        uploads.map((step) => step.with),
        stage,
      ).toContainEqual(expect.objectContaining({ name: `package-${stage}`, path: `artifacts/${stage}` }));
    }
    for (const [id, job] of withToken()) {
      const stage = job.environment as string;
      expect(STAGE_NAMES, id).toContain(stage);
      expect(upstream(id), id).toContain(packageId);
      const downloads = job.steps.filter((step) => step.uses?.startsWith('actions/download-artifact@'));
      expect(
        downloads.map((step) => step.with),
        id,
      ).toEqual([{ name: `package-${stage}`, path: `artifacts/${stage}` }]);
      const deploys = found([...runs(job).matchAll(/sls deploy [^\n]*/g)], `sls deploy in ${id}`).map((m) => m[0]);
      for (const deploy of deploys)
        expect(deploy, id).toMatch(new RegExp(`--stage ${stage} .*--package artifacts/${stage}$`));
    }
  });

  it('packages each stage with the role stack execution role of that stage, which the deploy passes', () => {
    const [, packageJob] = found(packaging(), 'packaging job')[0] as [string, Job];
    for (const stage of STAGE_NAMES) {
      const step = packageJob.steps.find((s) => s.run?.includes(`sls package --stage ${stage} `));
      // deploy/github-deploy-role.yml names it elecle-hello-${Stage}-${AWS::Region}-cloudformation.
      expect(step?.env?.AWS_CLOUDFORMATION_ROLE_ARN, stage).toBe(
        `arn:aws:iam::\${{ vars.AWS_ACCOUNT_ID }}:role/elecle-hello-${stage}-\${{ vars.AWS_REGION }}-cloudformation`,
      );
    }
  });
});

describe('Settings that guard the deploys, kept in GitHub and checked by the workflow', () => {
  it("lets no token job start before a job without a token confirms prod's reviewers and both branch rules", () => {
    const gates = found(
      Object.entries(jobs()).filter(([, job]) => runs(job).includes('/environments/')),
      'job reading the environments',
    );
    expect(gates).toHaveLength(1);
    const [gateId, gate] = gates[0] as [string, Job];
    expect(gate.permissions).toEqual({ actions: 'read' });
    const script = runs(gate);
    for (const check of [
      'environments/$env',
      'deployment-branch-policies',
      '== [["branch", "main"]]',
      '.type == "required_reviewers"',
      '.prevent_self_review == true',
      '(.reviewers | length) > 0',
      '.can_admins_bypass == false',
    ]) {
      expect(script).toContain(check);
    }
    expect(script).toMatch(/for env in dev prod; do/);
    for (const [id] of Object.entries(jobs()).filter(([, job]) => job.permissions?.['id-token'] === 'write')) {
      expect(upstream(id), id).toContain(gateId);
    }
  });
});

describe('Every job', () => {
  it('checks out without leaving the GitHub token in the workspace (persist-credentials: false)', () => {
    const checkouts = found(
      Object.entries(jobs()).flatMap(([id, job]) =>
        job.steps.filter((step) => step.uses?.startsWith('actions/checkout@')).map((step) => [id, step] as const),
      ),
      'checkout',
    );
    for (const [id, step] of checkouts) expect(step.with?.['persist-credentials'], id).toBe(false);
  });

  it('installs the cfn-lint version the template tests ran with, pinned, here and in .ci/run', async () => {
    const { stdout } = await run('cfn-lint', ['--version']);
    const local = stdout.trim().split(' ').at(-1);
    const installs = [
      ...Object.values(jobs()).flatMap((job) => [...runs(job).matchAll(/pipx? install cfn-lint\S*/g)].map((m) => m[0])),
      ...[...readFileSync(`${ROOT}.ci/run`, 'utf8').matchAll(/pipx? install cfn-lint\S*/g)].map((m) => m[0]),
    ];
    expect(found(installs, 'cfn-lint install').map((line) => line.split('==')[1])).toEqual(installs.map(() => local));
  });
});
