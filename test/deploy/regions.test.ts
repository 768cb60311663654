// A stage packages in any region unless it creates subnets, whose zone IDs deploy/network/zone-ids.yml
// lists for four regions only: dev (no network) must package and lint outside them, and prod
// (network: created) must be refused there with a message that says what to add, not an
// unresolved-variable error.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';
import { ownBuildFolder } from '../support/build-folder';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLS = join(ROOT, 'node_modules/serverless/bin/serverless.js');
const REGION = 'ap-southeast-2';

/** `sls package --stage <stage> --region <region>` into a directory of its own: exit code, output, directory. */
async function packageIn(stage: string, region: string) {
  const directory = mkdtempSync(join(tmpdir(), `elecle-package-${stage}-${region}-`));
  const buildFolder = ownBuildFolder();
  try {
    await run(process.execPath, [SLS, 'package', '--stage', stage, '--region', region, '--package', directory], {
      cwd: ROOT,
      env: { ...process.env, ESBUILD_WORK_FOLDER: buildFolder },
    });
    return { code: 0, output: '', directory };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}`, directory };
  } finally {
    rmSync(join(ROOT, buildFolder), { recursive: true, force: true });
  }
}

describe(`Regions: ${REGION}, which deploy/network/zone-ids.yml does not list`, () => {
  it('is not in the zone list (else this test would prove nothing)', () => {
    const zones = yamlParse(readFileSync(join(ROOT, 'deploy/network/zone-ids.yml'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(zones).length).toBeGreaterThan(0);
    expect(Object.keys(zones)).not.toContain(REGION);
  });

  it('packages dev, which creates no subnets, into a template that passes cfn-lint and names that region', async () => {
    const { code, output, directory } = await packageIn('dev', REGION);
    expect({ code, output }).toEqual({ code: 0, output: '' });
    const templateFile = join(directory, 'cloudformation-template-update-stack.json');
    const template = readFileSync(templateFile, 'utf8');
    expect(template).not.toContain('AWS::EC2::Subnet');
    expect(template).toContain(`elecle-hello-dev-${REGION}`); // the dashboard's name
    const lint = await run('cfn-lint', ['--ignore-checks', 'W3005', '--', templateFile]).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number; stdout?: string; message: string }) => ({
        code: error.code,
        output: error.stdout ?? error.message,
      }),
    );
    expect(lint).toEqual({ code: 0, output: '' });
  }, 60_000);

  it('refuses prod, which creates subnets there, saying which file to add zone IDs to', async () => {
    const { code, output } = await packageIn('prod', REGION);
    expect(code).not.toBe(0);
    expect(output).toContain(`No availability zone IDs for ${REGION}`);
    expect(output).toContain('deploy/network/zone-ids.yml');
  }, 60_000);
});
