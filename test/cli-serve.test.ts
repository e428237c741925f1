import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pendingBody, postSigned } from './support/servers.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

/** Starts `pending-hooks serve` as a user would and waits for its "serving on" log line. */
function serve(args: string[], env: Record<string, string>): Promise<{ address: string; output: () => string }> {
  const child = spawn(process.execPath, ['bin/pending-hooks.js', 'serve', ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"address":"(http:\/\/[^"]+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ address: match[1]!, output: () => output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${output}`));
    });
  });
}

describe('pending-hooks serve', () => {
  it('serves a handlers module from the environment and answers a signed request', async () => {
    const { address, output } = await serve(['examples/moderation-handlers.ts', '--dry-run'], {
      STREAM_API_KEY: 'cli-key',
      STREAM_API_SECRET: 'cli-secret',
      PORT: '0',
      TIMEOUT_MS: '900',
      FALLBACK: 'delete',
    });
    const ok = await postSigned(`${address}/PassOnPendingMessage`, pendingBody({ text: 'buy badword now' }), { secret: 'cli-secret', apiKey: 'cli-key' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ action: 'delete', reason: 'blocklist: badword', timed_out: false });
    const slow = await postSigned(`${address}/PassOnPendingMessage`, pendingBody({ text: 'hmm [slow]' }), { secret: 'cli-secret', apiKey: 'cli-key' });
    expect(await slow.json()).toEqual({ action: 'delete', reason: 'timeout', timed_out: true });
    const unsigned = await postSigned(`${address}/PassOnPendingMessage`, pendingBody(), { secret: 'other', apiKey: 'cli-key' });
    expect(unsigned.status).toBe(401);
    expect(output()).toMatch(/"timeoutMs":900/);
  });

  it('reads several apps from --config, and flags override the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ph-cli-'));
    const config = join(dir, 'apps.json');
    await writeFile(config, JSON.stringify({ apps: [{ apiKey: 'a1', secrets: ['s1'] }, { apiKey: 'a2', secrets: ['s2new', 's2old'] }], timeoutMs: 300, dryRun: true }));
    const { address } = await serve(['examples/moderation-handlers.ts', '--config', config, '--port', '0', '--mount', '/hooks'], { PORT: '1', REST_MOUNT: '/ignored' });
    for (const [apiKey, secret] of [['a1', 's1'], ['a2', 's2old']]) {
      const response = await postSigned(`${address}/hooks/PassOnPendingMessage`, pendingBody({ text: 'hello' }), { secret, apiKey });
      expect(response.status, apiKey).toBe(200);
    }
    const noKey = await postSigned(`${address}/hooks/PassOnPendingMessage`, pendingBody(), { secret: 's1', apiKey: null });
    expect(noKey.status).toBe(401);
  });

  it('refuses to start without credentials, with a message saying what to set', async () => {
    await expect(serve(['examples/moderation-handlers.ts'], { STREAM_API_KEY: '', STREAM_API_SECRET: '' })).rejects.toThrow(/STREAM_API_KEY and STREAM_API_SECRET/);
  });
});
