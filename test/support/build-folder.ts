let buildFolders = 0;

/**
 * A serverless-esbuild work folder (ESBUILD_WORK_FOLDER, relative to the project) for one sls
 * process: test files run at the same time, and a build must never see or delete another's bundles.
 */
export function ownBuildFolder(): string {
  buildFolders += 1;
  return `.esbuild/test-${process.pid}-${buildFolders}`;
}
