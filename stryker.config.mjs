// npm run mutate: StrykerJS changes lib/, functions/ and tools/ one mutation at a time and runs the
// in-process tests (vitest.mutate.config.mts) against each; a mutant no test notices has survived.
// tools/smoke.ts and tools/chaos.mts are left out: each is a command line (arguments, exit code)
// around code that is mutated (tools/smoke-check.ts) or is test code (test/chaos).
//
// lib/ (2026-12-07; the figures, per file, and each survivor with its reason are in docs/testing.md,
// "Mutation testing"): a full run, `TEST_PORT_POOL_OFFSET=6 npx stryker run --mutate 'lib/**/*.ts'`,
// 88.1% (539 of 612); after the tests it led to, rerun file by file with `--mutate <file>
// --concurrency 1`: 92.97% (569 of 612; Stryker's report says 93.3%, counting two equivalent
// mutants killed by a missed time bound). The target stays the 92.5% of 2026-11-23. The runs
// mutated lib/ as of 4807a8e; the files changed since for unknown outcomes are yet to be rerun.
// What survives: equivalent mutants (no caller can tell), the step counting of a Redis connection
// attempt (timing a shared machine cannot hold), and
// two branches of DynamoDB's lookup that need a fault on the mark but not on the read.
//
// tools/ (81% in the run of 2026-11-23, before tools/offline/): the plugins' survivors are mostly generality this service does not
// use (route patterns with {params}, a server without the catch-all route, the exit-line hook of
// a process that does not exit in a test) and header handling checked end to end by
// test/e2e/local-gateway.test.ts, which Stryker cannot run per mutant. See reports/mutation.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // The plugins under tools/ are loaded with require(), which vitest's related-files search does not follow.
  vitest: { configFile: 'vitest.mutate.config.mts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  mutate: ['lib/**/*.ts', 'functions/**/*.ts', 'tools/**/*.cjs', 'tools/smoke-check.ts'],
  coverageAnalysis: 'perTest',
  // Reuses the last run's results for mutants whose code and covering tests did not change
  // (reports/stryker-incremental.json); `npm run mutate -- --force` tests every mutant again.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
};
