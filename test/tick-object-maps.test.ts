import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keptTickObject } from '../src/core/tick-object-maps.js';

/**
 * V8's feedback slots of `process.nextTick` after a full GC, in a child (test/fixtures/tick-object-maps.ts).
 * Its stdout is a file: V8 prints with C stdio, which drops what a full non-blocking pipe refuses.
 */
async function nextTickFeedback(mode: 'keep' | 'none'): Promise<{ megamorphic: number; monomorphic: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tick-maps-'));
  const file = join(dir, 'stdout.txt');
  const fd = openSync(file, 'w');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', '--allow-natives-syntax', 'test/fixtures/tick-object-maps.ts', mode], { stdio: ['ignore', fd, 'inherit'] });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    const stdout = readFileSync(file, 'utf8');
    const count = (state: string) => stdout.split('\n').filter((line) => line.includes(`DefineKeyedOwnPropertyInLiteral ${state}`)).length;
    return { megamorphic: count('MEGAMORPHIC'), monomorphic: count('MONOMORPHIC') };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
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
