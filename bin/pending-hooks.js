#!/usr/bin/env node
// The CLI from the TypeScript sources, for this repository's own clone (tests, development):
// the package's `bin` is the compiled dist/cli/bin.js, which needs neither tsx nor this file.
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
