import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

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

  it('has a deploy-role template that passes cfn-lint', async () => {
    expect(await check('cfn-lint', ['--', 'deploy/github-deploy-role.yml'])).toEqual({ code: 0, output: '' });
  });
});
