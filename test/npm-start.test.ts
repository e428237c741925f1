import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('npm start', () => {
  it('runs the example server against the emulator, prints each decision with its latency and keeps serving', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/start.ts'], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no summary within 20 s:\n${output}`)), 20_000);
        child.stdout.on('data', () => {
          if (output.includes('still serving on')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
      });
      expect(output).toMatch(/delete\s+blocklist: free crypto\s+[\d.]+ ms\s+deleted/);
      expect(output).toMatch(/commit\s+[\d.]+ ms\s+committed/);
      expect(output).toMatch(/keep_pending ⏱timeout\s+[\d.]+ ms\s+pending/);
      expect(output).toMatch(/Stream saw 1 commit/);
      expect(output).toMatch(/401 \{"error":"invalid_signature"/);
      const address = /still serving on (http:\/\/\S+)/.exec(output)![1]!;
      const stillUp = await fetch(`${address}/PassOnPendingMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(stillUp.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
