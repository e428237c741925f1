import { defineConfig } from 'vitest/config';

/**
 * The quick benchmark end to end (`npm run bench:quick`; CI runs it as its own step after the
 * tests). It loads both CPUs for about a minute, so it is not part of `npm test`: beside the
 * timing tests it would starve them.
 */
export default defineConfig({
  test: {
    include: ['test/bench-quick.test.ts'],
    pool: 'forks',
    testTimeout: 150_000,
  },
});
