import { defineConfig } from 'vitest/config';
import { shared } from './vitest.config.mjs';

// The tests `npm run mutate` runs against each mutant: those that call lib/, functions/ and tools/
// in this process. The end-to-end files reach the code through serverless-offline child
// processes, where Stryker cannot switch mutants on, and the deploy files through `sls package`.
export default defineConfig({
  test: {
    ...shared,
    include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/in-process/**/*.test.ts'],
  },
});
