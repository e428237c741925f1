import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postSigned } from '../support/servers.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

describe('pending-hooks serve with event handlers', () => {
  it('serves a handlers module that declares only event handlers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ph-events-'));
    const module = join(dir, 'events.mjs');
    await writeFile(
      module,
      `export default {
        events: { 'message.*'(event, { log, delivery }) { log.info({ seenType: event.type, appId: delivery.appId }, 'seen by the module'); } },
        onEventError(error) { console.error(error); },
      };\n`,
    );
    const child = spawn(process.execPath, ['bin/pending-hooks.js', 'serve', module, '--dry-run'], {
      env: { ...process.env, LOG_LEVEL: 'info', STREAM_API_KEY: 'cli-key', STREAM_API_SECRET: 'cli-secret', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await expect.poll(() => /"address":"(http:\/\/[^"]+)"/.exec(output), { timeout: 15_000 }).toBeTruthy();
    const address = /"address":"(http:\/\/[^"]+)"/.exec(output)![1]!;
    expect(output).toMatch(/"events":"\/events \(ack immediately\)"/);
    const answer = await postSigned(`${address}/events/777/message.updated`, JSON.stringify({ type: 'message.updated', message: { id: 'm1' } }), { secret: 'cli-secret', apiKey: 'cli-key', webhookId: 'cli-1' });
    expect(answer.status).toBe(200);
    await expect.poll(() => output, { timeout: 5000 }).toMatch(/"seenType":"message.updated","appId":"777","msg":"seen by the module"/);
    expect(output).toMatch(/"webhookId":"cli-1".*"outcome":"handled".*"msg":"event"/);
  });
});
