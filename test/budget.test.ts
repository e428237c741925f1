import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, type PendingHooks } from '../src/index.js';
import { sampleMessage, samplePayload } from '../src/emulator/sample-messages.js';
import { openRaw, requestHead } from './support/raw-socket.js';
import { appSecret, clientSlackMs, pendingBody, postSigned, serverLatencyMs, sleep, startHooksServer, type RunningServer } from './support/servers.js';
import { streamSignature } from './support/sign-fixture.js';
import { fromBinary } from '@bufbuild/protobuf';
import { Action, PendingMessageResponseSchema } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { headWith, portOf, protoRequest, rawHttp, restBody, twirpJsonBody, twirpPath, uid } from './support/contract.js';

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

describe('inline timing, deadline and fallback (dry run)', () => {
  let server: RunningServer;
  const deadlines = new Map<string, { deadlineMinusArrival: number; abortedAt?: number; remainingAtStart: number }>();
  beforeAll(async () => {
    server = await startHooksServer({ timeoutMs: 400 }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (event, ctx) => {
        const info: { deadlineMinusArrival: number; abortedAt?: number; remainingAtStart: number } = {
          deadlineMinusArrival: ctx.deadline - event.receivedAt,
          remainingAtStart: ctx.remainingMs(),
        };
        deadlines.set(event.message.id, info);
        ctx.signal.addEventListener('abort', () => (info.abortedAt = Date.now() - event.receivedAt));
        if (event.message.text === 'hang') await new Promise((r) => ctx.signal.addEventListener('abort', r));
        if (event.message.text === 'ignore-signal') await sleep(700);
        if (event.message.text === 'slow-200') await sleep(200);
        return decide.delete('handler');
      }),
    );
  });
  afterAll(() => server.close());
  const url = () => `${server.url}/PassOnPendingMessage`;

  it('handler deadline = timeoutMs − applyReserveMs (400 − 100 = 300 ms) after arrival', async () => {
    const id = uid();
    expect((await postSigned(url(), restBody(id))).status).toBe(200);
    const info = deadlines.get(id)!;
    expect(info.deadlineMinusArrival).toBeGreaterThan(285);
    expect(info.deadlineMinusArrival).toBeLessThan(315);
  });

  it('timeout → {"action": fallback, "reason": "timeout", "timed_out": true}, answered before timeoutMs, signal aborted at the deadline', async () => {
    const id = uid();
    const started = performance.now();
    const response = await postSigned(url(), restBody(id, 'hang'));
    const elapsed = performance.now() - started;
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    expect(serverLatencyMs(server, id)).toBeLessThan(400);
    expect(elapsed).toBeLessThan(400 + clientSlackMs);
    expect(elapsed).toBeGreaterThan(280);
    const info = deadlines.get(id)!;
    expect(info.abortedAt).toBeGreaterThan(280);
    expect(info.abortedAt).toBeLessThan(330);
  });

  it('a handler that ignores its signal still gets the fallback in time', async () => {
    const id = uid();
    const response = await postSigned(url(), restBody(id, 'ignore-signal'));
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    expect(serverLatencyMs(server, id)).toBeLessThan(400);
  });

  it('a handler finishing within its deadline is answered with its decision', async () => {
    expect(await (await postSigned(url(), restBody(uid(), 'slow-200'))).json()).toStrictEqual({ action: 'delete', reason: 'handler', timed_out: false });
  });

  it('Twirp timeout answer: ACTION_KEEP_PENDING, reason timeout, timed_out true', async () => {
    const response = await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid(), 'hang'));
    expect(await response.json()).toStrictEqual({ action: 'ACTION_KEEP_PENDING', reason: 'timeout', timed_out: true, accepted: false });
  });

  it('the clock starts when the request arrives (a slow body eats the handler budget)', async () => {
    const id = uid();
    const body = restBody(id);
    const head = headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature: ${streamSignature(appSecret, body)}`], Buffer.byteLength(body));
    const answer = await rawHttp(portOf(server.url), head, body, { bodyDelayMs: 200 });
    expect(answer.status).toBe(200);
    const info = deadlines.get(id)!;
    expect(info.remainingAtStart).toBeLessThan(120);
  });
});

describe('timeoutMs = answerWithinMs boundary, ack-first answers (dry run)', () => {
  it('timeoutMs = 5000 (= answerWithinMs) is inline; 5001 is ack-first with exactly {"accepted": true}', async () => {
    const reg = (hooks: PendingHooks) => hooks.on('PassOnPendingMessage', () => decide.delete('x'));
    const inline = await startHooksServer({ timeoutMs: 5000 }, reg);
    const ack = await startHooksServer({ timeoutMs: 5001 }, reg);
    const tuned = await startHooksServer({ timeoutMs: 1000, answerWithinMs: 999 }, reg);
    try {
      expect(await (await postSigned(`${inline.url}/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ action: 'delete', reason: 'x', timed_out: false });
      expect(await (await postSigned(`${ack.url}/PassOnPendingMessage`, restBody(uid()))).text()).toBe('{"accepted":true}');
      expect(await (await postSigned(`${tuned.url}/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ accepted: true });
      const tw = await postSigned(`${ack.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()));
      expect(await tw.json()).toStrictEqual({ action: 'ACTION_UNSPECIFIED', reason: '', timed_out: false, accepted: true });
      const pbAnswer = await postSigned(`${ack.url}${twirpPath('PassOnPendingMessage')}`, protoRequest(uid()), { contentType: 'application/protobuf' });
      const decoded = fromBinary(PendingMessageResponseSchema, new Uint8Array(await pbAnswer.arrayBuffer()));
      expect(decoded.accepted).toBe(true);
      expect(decoded.action).toBe(Action.UNSPECIFIED);
      expect(decoded.reason).toBe('');
      expect(decoded.timedOut).toBe(false);
      // Deleted answers stay {"ok": true} in ack-first timing
      expect(await (await postSigned(`${ack.url}/DeletedPendingMessage`, restBody(uid()))).text()).toBe('{"ok":true}');
    } finally {
      await Promise.all([inline.close(), ack.close(), tuned.close()]);
    }
  });
});

describe('the handler deadline with a large apply reserve', () => {
  it("the handler's deadline is timeoutMs − applyReserveMs even when the reserve exceeds half the budget", async () => {
    let offset = 0;
    const s = await startHooksServer({ timeoutMs: 300, applyReserveMs: 200 }, (hooks) =>
      hooks.on('PassOnPendingMessage', (event, ctx) => {
        offset = ctx.deadline - event.receivedAt;
        return decide.commit();
      }),
    );
    try {
      await postSigned(`${s.url}/PassOnPendingMessage`, pendingBody());
      expect(offset).toBeGreaterThan(90);
      expect(offset).toBeLessThan(110);
    } finally {
      await s.close();
    }
  });
});
