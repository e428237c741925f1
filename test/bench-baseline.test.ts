import { describe, expect, it } from 'vitest';
import { baselineTwin, compareWithBaseline, runsPendingHooks } from '../bench/lib/baseline.js';
import { rows } from '../bench/lib/rows.js';

describe('bench --baseline', () => {
  const baseline = { ref: 'HEAD~1', commit: '0123456789abcdef0123456789abcdef01234567', dir: '/tmp/pending-hooks-baseline-0123456789ab' };

  it('twins exactly the rows that run pending-hooks, served from the baseline tree, without targets', () => {
    const twinned = rows.filter(runsPendingHooks).map((row) => row.id);
    expect(twinned).toContain('ph-rest');
    expect(twinned).toContain('ph-serve-default');
    expect(twinned).toContain('ph-rest-applied');
    expect(twinned).not.toContain('floor');
    expect(twinned).not.toContain('fastify-undici-applied');
    expect(twinned).not.toContain('twirp-ts');
    const applied = rows.find((row) => row.id === 'ph-rest-applied')!;
    const twin = baselineTwin(applied, baseline);
    expect(twin).toMatchObject({ id: 'ph-rest-applied@base', from: baseline.dir, needs: applied.needs, openRateOf: applied.openRateOf, script: applied.script });
    expect(twin.target).toBeUndefined();
    expect(twin.label).toContain('[baseline 01234567]');
  });

  it('pairs rounds by number and counts only differences beyond 1%', () => {
    const current = [
      { round: 1, rps: 110 },
      { round: 2, rps: 100 },
      { round: 3, rps: 95 },
      { round: 4, rps: 120 }, // its twin failed this round: no pair
    ];
    const base = [
      { round: 1, rps: 100 },
      { round: 2, rps: 99.5 },
      { round: 3, rps: 100 },
    ];
    const c = compareWithBaseline('ph-rest', current, base);
    expect(c.pairs.map((p) => Number(p.toFixed(3)))).toEqual([1.1, 1.005, 0.95]);
    expect([c.faster, c.slower]).toEqual([1, 1]);
    expect(c.current).toBe(105); // median of 95, 100, 110, 120
    expect(c.baseline).toBe(100);
    expect(c.ratio).toBeCloseTo(1.05);
    expect(compareWithBaseline('x', [], base)).toMatchObject({ current: null, ratio: null, pairs: [] });
  });
});
