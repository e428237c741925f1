import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('examples', () => {
  it('the Twirp-mode server answers the example Twirp client in both encodings', async () => {
    const server = spawn(process.execPath, ['--import', 'tsx', 'examples/twirp-server.ts'], {
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', STREAM_API_SECRET: '', STREAM_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`no address:\n${output}`)), 15_000);
        server.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /Twirp: POST (http:\/\/[^/\s]+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      });
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/twirp-client-call.ts', address]);
      expect(stdout).toMatch(/JSON {5}→ 200 \{"action":"ACTION_COMMIT"/);
      expect(stdout).toMatch(/protobuf → 200 \{ action: 2, reason: 'blocklist: badword'/);
    } finally {
      server.kill('SIGTERM');
    }
  });
});
