import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ownBuildFolder } from './build-folder';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLS = join(ROOT, 'node_modules/serverless/bin/serverless.js');
const INVOKE_BUNDLE = join(ROOT, 'bench/invoke-bundle.cjs');

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
  /** Unzips a function where no node_modules can help it (it must stand alone); returns its handler file. */
  unpack(functionName: string): string;
}

/**
 * `sls package --stage <stage>` as a deploy runs it, offline, into `directory` (a new temporary
 * folder by default, which the caller removes). `signal` stops it.
 */
export async function packageStage(
  stage: string,
  directory = mkdtempSync(join(tmpdir(), `elecle-package-${stage}-`)),
  signal?: AbortSignal,
): Promise<PackagedStage> {
  const buildFolder = ownBuildFolder();
  const packaging = run(process.execPath, [SLS, 'package', '--stage', stage, '--package', directory], {
    cwd: ROOT,
    env: { ...process.env, ESBUILD_WORK_FOLDER: buildFolder },
    ...(signal ? { signal } : {}),
  });
  try {
    await packaging;
  } finally {
    // Stopped by the signal, it may still be writing: its folder goes once it has exited.
    const { child } = packaging;
    if (child.exitCode === null && child.signalCode === null) await once(child, 'close');
    rmSync(join(ROOT, buildFolder), { recursive: true, force: true });
  }
  return readPackagedStage(stage, directory);
}

/** A stage `sls package` has written to `directory`. Functions are unpacked inside it, so removing it removes them. */
export function readPackagedStage(stage: string, directory: string): PackagedStage {
  const templateFile = join(directory, 'cloudformation-template-update-stack.json');
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, CfnResource> };
  const state = JSON.parse(readFileSync(join(directory, 'serverless-state.json'), 'utf8')) as {
    service: { functions: Record<string, { handler: string }> };
  };
  const artifact = (functionName: string) => join(directory, `${functionName}.zip`);
  return {
    directory,
    templateFile,
    resources: template.Resources,
    artifact,
    unpack(functionName) {
      const handler = state.service.functions[functionName]?.handler; // e.g. functions/hello-again.handler
      if (!handler) throw new Error(`stage ${stage} has no function ${functionName}`);
      const unpacked = mkdtempSync(join(directory, `unpacked-${functionName}-`));
      execFileSync('unzip', ['-q', artifact(functionName), '-d', unpacked]);
      return join(unpacked, `${handler.slice(0, handler.lastIndexOf('.'))}.mjs`); // an ES module bundle
    },
  };
}

export interface BundleRun {
  /** The first answer, to a synthetic API Gateway v2 GET event. */
  first: { statusCode: number; headers: object; body: string };
  processStartToImportedMs: number;
  processStartToFirstAnswerMs: number;
  firstAnswerMs: number;
}

/** Loads a bundle in a fresh plain `node` process (bench/invoke-bundle.cjs) and calls it once. */
export async function invokeBundle(handlerFile: string, env: Record<string, string>): Promise<BundleRun> {
  const { stdout } = await run(process.execPath, [INVOKE_BUNDLE, handlerFile], {
    env: { PATH: process.env.PATH, WARM_CALLS: '0', ...env },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as BundleRun;
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

/** serverless.yml as the framework resolves it for a stage (`sls print --format json`). */
export async function printConfig<T>(stage: string): Promise<T> {
  const { code, output } = await sls('print', '--stage', stage, '--format', 'json');
  if (code !== 0) throw new Error(`sls print --stage ${stage} failed:\n${output}`);
  return JSON.parse(output.slice(output.indexOf('{'))) as T;
}

export function resourcesOfType(stage: PackagedStage, type: string): [string, CfnResource][] {
  return Object.entries(stage.resources).filter(([, resource]) => resource.Type === type);
}
