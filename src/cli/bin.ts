#!/usr/bin/env node
// Before the CLI's modules load: a full GC while they load must find a nextTick entry alive
// (src/core/tick-object-maps.ts); a static import of main.js would load them all first.
import '../core/tick-object-maps.js';

const { main } = await import('./main.js');
await main(process.argv);
