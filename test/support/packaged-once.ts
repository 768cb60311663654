import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import type { TestProject } from 'vitest/node';
import { type PackagedStage, packageStage, readPackagedStage } from './packaged-stage';

/** The stages a deploy packages. */
export type DeployStage = 'dev' | 'prod';
const STAGES: DeployStage[] = ['dev', 'prod'];

declare module 'vitest' {
  export interface ProvidedContext {
    /** The folder holding each stage's package (`<stage>/`) and, once it is done, `<stage>.json`. */
    packagedStagesFolder: string;
  }
}

/**
 * vitest's globalSetup: packages dev and prod once per run, for every test file that reads them,
 * in the background so the other files start at once. A file waits in packagedStage() for the
 * stage it reads. Afterwards the folder goes, and a packaging no file waited for is stopped.
 */
export default function packageStagesOnce(project: TestProject): () => Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'elecle-packages-'));
  project.provide('packagedStagesFolder', folder);
  const stop = new AbortController();
  // One stage after the other: `sls package --package DIR` still stages its files in the project's
  // own .serverless/, so two packagings at once can delete each other's (ENOENT serverless-state.json).
  const packaging = (async () => {
    for (const stage of STAGES) {
      const outcome = await packageStage(stage, join(folder, stage), stop.signal).then(
        () => ({}),
        (error: { stdout?: string; stderr?: string; message: string }) => ({
          error: `${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
        }),
      );
      // Written whole, then renamed: a file that waits never reads half of it.
      writeFileSync(join(folder, `${stage}.json.part`), JSON.stringify(outcome));
      renameSync(join(folder, `${stage}.json.part`), join(folder, `${stage}.json`));
    }
  })();
  return async () => {
    stop.abort();
    await packaging;
    rmSync(folder, { recursive: true, force: true });
  };
}

/** A stage as the global setup packaged it, once it is there. */
export async function packagedStage(stage: DeployStage): Promise<PackagedStage> {
  const folder = inject('packagedStagesFolder');
  const done = join(folder, `${stage}.json`);
  const deadline = Date.now() + 180_000;
  while (!existsSync(done)) {
    if (Date.now() > deadline) throw new Error(`sls package --stage ${stage} did not finish within 180 s`);
    await sleep(100);
  }
  const { error } = JSON.parse(readFileSync(done, 'utf8')) as { error?: string };
  if (error) throw new Error(`sls package --stage ${stage} failed:\n${error}`);
  return readPackagedStage(stage, join(folder, stage));
}
