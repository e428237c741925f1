import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { streamSignature } from './support/sign-fixture.js';
import { pendingBody } from './support/servers.js';

const key = 'drain-key';
const secret = 'drain-secret';

/** A handlers module that takes 200 ms per decision and logs when each one is done. */
const slowHandlers = `
export default {
  async PassOnPendingMessage(event, ctx) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    ctx.log.info({ decided: event.message.id }, 'slow handler done');
    return { action: 'commit' };
  },
};
`;

describe('pending-hooks serve on SIGTERM', () => {
  it('answers every callback in flight over keep-alive connections, then exits 0 within a second of the last decision', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ph-drain-'));
    const module = join(dir, 'slow-handlers.mjs');
    await writeFile(module, slowHandlers);
    const child = spawn(process.execPath, ['bin/pending-hooks.js', 'serve', module, '--dry-run', '--port', '0', '--timeout-ms', '2000'], {
      env: { ...process.env, STREAM_API_KEY: key, STREAM_API_SECRET: secret, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: performance.now() })));
    const agent = new Agent({ connections: 20, keepAliveTimeout: 60_000, pipelining: 1 });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 15_000);
        const poll = setInterval(() => {
          const match = /"address":"(http:\/\/[^"]+)"/.exec(output);
          if (match) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve(match[1]!);
          }
        }, 20);
      });
      const send = async () => {
        const body = pendingBody();
        const response = await request(`${address}/PassOnPendingMessage`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-signature': streamSignature(secret, body), 'x-webhook-id': crypto.randomUUID() },
          body,
        });
        return { status: response.statusCode, connection: response.headers.connection, body: (await response.body.json()) as Record<string, unknown>, at: performance.now() };
      };
      // Warm 20 kept-alive connections, then put a callback in flight on each.
      await Promise.all(Array.from({ length: 20 }, send));
      // serve is a deployment: metrics and probes are on.
      const metrics = await (await fetch(`${address}/metrics`)).text();
      expect(metrics).toMatch(/^pending_hooks_callbacks_total\{transport="rest",method="PassOnPendingMessage",outcome="commit"\} 20$/m);
      expect((await fetch(`${address}/readyz`)).status).toBe(200);
      const inFlight = Array.from({ length: 20 }, send);
      await new Promise((resolve) => setTimeout(resolve, 60));
      child.kill('SIGTERM');
      const answers = await Promise.all(inFlight);
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({ action: 'commit', timed_out: false });
        expect(answer.connection).toBe('close');
      }
      const lastAnswer = Math.max(...answers.map((answer) => answer.at));
      const exit = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000))]);
      expect(exit, `serve did not exit:\n${output.slice(-2000)}`).toBeDefined();
      expect(exit!.code).toBe(0);
      expect(exit!.at - lastAnswer).toBeLessThan(1000);
      // Each decision in flight was completed and logged before the exit.
      expect(output.match(/slow handler done/g)?.length).toBe(40);
    } finally {
      await agent.close();
      child.kill('SIGKILL');
    }
  }, 30_000);
});
