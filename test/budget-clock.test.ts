import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, type PendingHooks } from '../src/index.js';
import { sampleMessage, samplePayload } from '../src/emulator/sample-messages.js';
import { openRaw, requestHead } from './support/raw-socket.js';
import { startHooksServer, type RunningServer } from './support/servers.js';

/**
 * Stream's budget starts when it sends the callback. A server whose event loop is busy when the
 * bytes arrive sees them late; the budget must still be counted from their arrival, or the
 * answer comes after Stream stopped waiting. The loop is blocked here for 300 ms right after the
 * request is handed to the kernel, and the handler needs 300 ms: counted from arrival the
 * budget (500 ms) cannot hold both, counted from when the loop got to the request it can.
 */
const timeoutMs = 500;
const handlerMs = 300;
const blockMs = 300;

function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: the server in this process cannot read its sockets meanwhile.
  }
}

describe('the budget clock', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startHooksServer({ timeoutMs, fallback: 'keep_pending' }, (hooks: PendingHooks) =>
      hooks.on('PassOnPendingMessage', async () => {
        await new Promise((resolve) => setTimeout(resolve, handlerMs));
        return decide.commit('slow but in time');
      }),
    );
  });
  afterAll(() => server.close());

  async function send(id: string, block: boolean) {
    const body = JSON.stringify(samplePayload(sampleMessage({ id }, id)));
    const connection = await openRaw(Number(new URL(server.url).port));
    const head = requestHead('/PassOnPendingMessage', { length: Buffer.byteLength(body), signatureOf: body });
    // A write on a connected socket goes to the kernel at once; then nothing runs for blockMs.
    connection.socket.write(head + body);
    if (block) blockLoop(blockMs);
    expect(await connection.waitFor(/\r\n\r\n\{.*\}$/s, 5000)).toBe(true);
    connection.socket.destroy();
    const text = connection.received();
    const log = server.logs.find((line) => line.messageId === id && line.msg === 'decision');
    return { answer: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>, log };
  }

  it('on an idle loop, the handler has its time', async () => {
    const { answer, log } = await send('clock-idle', false);
    expect(answer).toMatchObject({ action: 'commit', timed_out: false });
    expect(log?.latencyMs).toBeLessThan(timeoutMs);
  });

  it('starts when the bytes arrived, not when a busy loop got to them', async () => {
    const { answer, log } = await send('clock-busy', true);
    // Counted from when the loop got to it, the handler's 300 ms would have fit (commit, late).
    expect(answer).toMatchObject({ action: 'keep_pending', timed_out: true });
    // The log counts the wait too (at most one 10 ms sampler period is unseen).
    expect(log?.latencyMs).toBeGreaterThanOrEqual(blockMs - 15);
  });
});
