import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // The package's own name resolves to the sources here (tsconfig.json `paths` does the same
  // for tsc and tsx); test/package.test.ts checks the built package from outside.
  resolve: {
    alias: [
      { find: /^pending-hooks$/, replacement: src('index.ts') },
      { find: /^pending-hooks\/emulator$/, replacement: src('emulator/index.ts') },
      { find: /^pending-hooks\/loadtest$/, replacement: src('loadtest/index.ts') },
      { find: /^pending-hooks\/proto$/, replacement: src('gen/pendingmessage/v1/pending_message_pb.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
