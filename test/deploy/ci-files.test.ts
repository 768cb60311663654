import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';

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

interface Job {
  needs?: string | string[];
  environment?: string;
  steps: { run?: string }[];
}

describe('Deploy jobs', () => {
  const jobs = () =>
    (yamlParse(readFileSync(`${ROOT}.github/workflows/ci.yml`, 'utf8')) as { jobs: Record<string, Job> }).jobs;
  const runs = (job: Job | undefined) => (job?.steps ?? []).map((step) => step.run ?? '').join('\n');
  const needs = (job: Job | undefined) => [job?.needs ?? []].flat();

  it('deploys dev and smoke-tests it, after the tests', () => {
    const dev = jobs().deploy;
    expect(dev?.environment).toBe('dev');
    expect(needs(dev)).toContain('test');
    expect(runs(dev)).toMatch(/sls deploy --stage dev[^\n]*\n[\s\S]*npm run smoke/);
  });

  it('deploys prod only after dev deployed and passed, in the prod environment (its reviewers approve)', () => {
    const prod = jobs()['deploy-prod'];
    expect(prod?.environment).toBe('prod');
    expect(needs(prod)).toEqual(['deploy']);
    expect(runs(prod)).toContain('sls deploy --stage prod');
    expect(runs(prod)).toContain('/health');
  });
});
