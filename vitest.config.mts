import { defineConfig } from 'vitest/config';
import nodeVersion from './tools/node-version.cjs';

nodeVersion.exitUnlessSupportedNode();

/** What every test file shares, here and under `npm run mutate`. */
export const shared = {
  testTimeout: 60_000,
  hookTimeout: 90_000,
  // The tests' own process logs nothing and emits no metrics; the serverless-offline processes
  // they start log at WARN unless a test asks for more.
  env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
};

export default defineConfig({
  test: {
    ...shared,
    include: ['test/**/*.test.ts'],
    // Packages dev and prod once for every file that reads them, and removes them afterwards.
    globalSetup: ['test/support/packaged-once.ts'],
    // Two files at a time. Each file starts its own redis-server, dynalite and serverless-offline
    // on free ports, and each sls process builds in a folder of its own (test/support/build-folder.ts).
    maxWorkers: 2,
  },
});
