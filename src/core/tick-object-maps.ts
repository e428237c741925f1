import { executionAsyncResource } from 'node:async_hooks';

/**
 * Keeps one of node's `process.nextTick` entries alive for the life of the process, so that V8
 * never collects the hidden classes (maps) every such entry shares.
 *
 * Why: node builds each entry with a computed-key literal (`{ [async_id_symbol]: id, … }`), and
 * V8's feedback for defining a computed key knows one map or gives up for good ("megamorphic").
 * It holds that map weakly, and the maps after the first key are reachable only from live
 * entries. A full GC at a moment when no entry is queued (seen while `serve`'s modules load)
 * collects them; the next entry gets new maps, the feedback
 * turns megamorphic, and from then on every `nextTick` defines its keys through V8's runtime:
 * ~50 → ~250 ns per call on Node 20, six calls per request in node's http and stream internals,
 * ~7% of a REST callback's throughput (bench/RESULTS.md, "The nextTick maps"). One entry kept
 * alive keeps its map and, through each map's parent link, the whole chain.
 *
 * Cost: one small object. Idempotent. It helps only if it runs before the first such GC, so
 * importing this module does it: `pending-hooks` imports it first, and `serve` before it loads
 * anything else.
 */
export function keepTickObjectMaps(): void {
  if (requested) return;
  requested = true;
  // The entry is the async resource while its callback runs (node's `emitBefore`), and it is
  // queued, so alive, until then: there is no moment in between when its maps can go.
  process.nextTick(() => {
    kept = executionAsyncResource();
  });
}

/** The entry kept by `keepTickObjectMaps` (undefined until its callback ran); for tests. */
export function keptTickObject(): object | undefined {
  return kept;
}

let requested = false;
let kept: object | undefined;

keepTickObjectMaps();
