import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisUnavailable } from './support/redis.js';

/**
 * The 60-second soak of issue #12 (`npm run soak -- --seconds 60`): two serve processes on one
 * Redis, API 5xx bursts, a slow API, Redis restarts; it fails on a lost or doubled decision or
 * on memory / event-loop growth after warm-up. In the `load` group (run alone, after the rest).
 * Growth limit 25% here: in a minute, a heap still settling (JIT code, pools, caches) grows
 * 12–16% (seen in CI), which a leak check cannot tell from a leak; this run checks decisions
 * exactly and catches gross growth, the 10-minute `npm run soak` holds the 10% bound.
 */
describe.skipIf(redisUnavailable !== undefined)('npm run soak -- --seconds 60', () => {
  it('applies every decision exactly once and does not grow', { timeout: 150_000 }, async () => {
    const child = spawn('npm', ['run', '--silent', 'soak', '--', '--seconds', '60', '--rate', '60', '--max-growth', '25'], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output.slice(-4000)).toBe(0);
    expect(output).toContain('decisions: lost 0, doubled 0, keep_pending applied 0');
    expect(output).toContain('soak passed');
  });
});
