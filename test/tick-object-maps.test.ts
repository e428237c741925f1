import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { keptTickObject } from '../src/core/tick-object-maps.js';

const run = promisify(execFile);

/** V8's feedback slots of `process.nextTick` after a full GC, in a child (test/fixtures/tick-object-maps.ts). */
async function nextTickFeedback(mode: 'keep' | 'none'): Promise<{ megamorphic: number; monomorphic: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--expose-gc', '--allow-natives-syntax', 'test/fixtures/tick-object-maps.ts', mode]);
  const count = (state: string) => stdout.split('\n').filter((line) => line.includes(`DefineKeyedOwnPropertyInLiteral ${state}`)).length;
  return { megamorphic: count('MEGAMORPHIC'), monomorphic: count('MONOMORPHIC') };
}

describe('the nextTick entry kept alive (src/core/tick-object-maps.ts)', () => {
  it('is one of node’s nextTick entries, kept once the first tick ran', async () => {
    await new Promise<void>((resolve) => process.nextTick(resolve));
    const kept = keptTickObject() as { callback?: unknown; args?: unknown } | undefined;
    expect(kept).toBeTypeOf('object');
    expect(kept!.callback).toBeTypeOf('function');
    expect(Object.getOwnPropertySymbols(kept!).map(String)).toEqual(['Symbol(async_id_symbol)', 'Symbol(trigger_async_id_symbol)']);
  });

  it('keeps process.nextTick’s key definitions monomorphic through a full GC; without it they turn megamorphic', async () => {
    const [without, withKeeper] = await Promise.all([nextTickFeedback('none'), nextTickFeedback('keep')]);
    // The V8 behavior the module works around (Node 20): after the GC, node's entries get new maps
    // and the three key definitions after the first give up on their feedback for good.
    expect(without.megamorphic, 'V8 no longer turns these slots megamorphic: revisit tick-object-maps.ts').toBeGreaterThan(0);
    expect(withKeeper).toEqual({ megamorphic: 0, monomorphic: without.megamorphic + without.monomorphic });
  });
});
