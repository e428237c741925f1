import { defineConfig } from 'vitest/config';

/**
 * Two groups, one after the other. `load` holds the tests that saturate the machine on purpose
 * (the attack suite, the quick benchmark): run beside the others, they starve them — a busy
 * event loop makes servers shed callbacks (503) or miss timing bounds that are not what those
 * tests are about. They run after every other file, one file at a time.
 */
const load = ['test/hostile/attack-suite.test.ts', 'test/bench-quick.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'wire', include: ['test/**/*.test.ts'], exclude: load, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'load', include: load, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
