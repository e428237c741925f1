import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Two groups, one after the other. `load` holds the tests that saturate the machine on purpose
 * (the attack suite, the soak, the overload tests — whose bounds hold only if the server under
 * test gets its CPU): run beside the others, they starve them — a busy event loop makes servers
 * shed callbacks (503) or miss timing bounds that are not what those tests are about. They run
 * after every other file, one file at a time. The quick benchmark is not part of `npm test` at
 * all: `npm run bench:quick` (vitest.bench-quick.config.ts), its own step in CI.
 */
const load = ['test/hostile/attack-suite.test.ts', 'test/soak.test.ts', 'test/production/overload.test.ts'];
const benchQuick = 'test/bench-quick.test.ts';
const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // The package's own name resolves to the sources here (tsconfig.json `paths` does the same
  // for tsc and tsx); test/package.test.ts checks the built package from outside.
  resolve: {
    alias: [
      { find: /^pending-hooks$/, replacement: src('index.ts') },
      { find: /^pending-hooks\/emulator$/, replacement: src('emulator/index.ts') },
      { find: /^pending-hooks\/hooks-config$/, replacement: src('hooks-config/index.ts') },
      { find: /^pending-hooks\/loadtest$/, replacement: src('loadtest/index.ts') },
      { find: /^pending-hooks\/deliveries$/, replacement: src('deliveries/index.ts') },
      { find: /^pending-hooks\/proto$/, replacement: src('gen/pendingmessage/v1/pending_message_pb.ts') },
    ],
  },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'wire', include: ['test/**/*.test.ts'], exclude: [...load, benchQuick], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'load', include: load, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
