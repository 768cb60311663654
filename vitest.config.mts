import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end files each start serverless-offline, which bundles into the shared .esbuild/:
    // one file at a time keeps those builds apart (and two cores are busy enough).
    fileParallelism: false,
    testTimeout: 60_000,
    // The tests' own process logs nothing and emits no metrics; the serverless-offline processes
    // they start log at WARN unless a test asks for more.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    hookTimeout: 90_000,
  },
});
