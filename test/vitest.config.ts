import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // vitest's summary, then one plain `N passed, N failed, N skipped` line for CI.
    reporters: ['default', './test/plain-summary.ts'],
  },
});
