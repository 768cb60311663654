import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLS = join(ROOT, 'node_modules/serverless/bin/serverless.js');

type Json = Record<string, unknown>;
export interface CfnResource {
  Type: string;
  Properties: Json & Record<string, unknown>;
}

export interface PackagedStage {
  directory: string;
  templateFile: string;
  resources: Record<string, CfnResource>;
  /** The path of a function's zip. */
  artifact(functionName: string): string;
}

/** `sls package --stage <stage>` as a deploy runs it, offline, into a directory of its own. */
export async function packageStage(stage: string): Promise<PackagedStage> {
  const directory = mkdtempSync(join(tmpdir(), `elecle-package-${stage}-`));
  // Stale bundles in .esbuild/ could end up in the package.
  rmSync(join(ROOT, '.esbuild'), { recursive: true, force: true });
  await run(process.execPath, [SLS, 'package', '--stage', stage, '--package', directory], { cwd: ROOT });
  const templateFile = join(directory, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, CfnResource> };
  return {
    directory,
    templateFile,
    resources: template.Resources,
    artifact: (functionName) => join(directory, `${functionName}.zip`),
  };
}

/** Runs `sls <args>` in the project and returns its exit code and output. */
export async function sls(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SLS, ...args], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

export function resourcesOfType(stage: PackagedStage, type: string): [string, CfnResource][] {
  return Object.entries(stage.resources).filter(([, resource]) => resource.Type === type);
}
