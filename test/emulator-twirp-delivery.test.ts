import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { sampleMessage, samplePayload, sendCallback, streamDeliveryRules, type CallbackMode } from '../src/emulator/index.js';

/**
 * Stream's published delivery rules, checked on Twirp callbacks (the rules do not depend on
 * the mode): 408 / 429 / >= 500 → 3 attempts, a network error → 2, a timeout → 3; 6 s per
 * request, 15 s in all; the same X-Webhook-Id on every attempt. Each test has its own
 * server, so they run concurrently (the one with Stream's real limits takes 15 s).
 */

const hmacHex = (bytes: Uint8Array, secret: string) => createHmac('sha256', secret).update(bytes).digest('hex');
const service = 'pendingmessage.v1.PendingMessageService';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}
type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void;

async function withServer<T>(behaviour: Behaviour, run: (url: string, received: Received[], dispatcher: Agent) => Promise<T>): Promise<T> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: performance.now() });
      behaviour(req, res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dispatcher = new Agent();
  try {
    return await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, dispatcher);
  } finally {
    await dispatcher.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const twirpError = (status: number, code: string): Behaviour => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code, msg: `injected ${code}` }));
};
const payload = samplePayload(sampleMessage({ id: 'delivery-1' }, 21));
const fast = { backoffMs: 20, requestTimeoutMs: 150, totalTimeoutMs: 2000 };

describe.concurrent('Stream delivery rules (Twirp callbacks, and REST for comparison)', () => {
  it('uses Stream’s published limits by default', () => {
    expect(streamDeliveryRules).toEqual({
      requestTimeoutMs: 6000,
      totalTimeoutMs: 15_000,
      maxAttemptsOnStatus: 3,
      maxAttemptsOnNetworkError: 2,
      maxAttemptsOnTimeout: 3,
    });
  });

  it.each([
    [408, 'deadline_exceeded', 'twirp-protobuf'],
    [429, 'resource_exhausted', 'twirp-json'],
    [500, 'internal', 'twirp-protobuf'],
    [503, 'unavailable', 'twirp-json'],
    [500, 'internal', 'rest'],
  ] as const)('%i (%s, %s): 3 attempts, same webhook id and signature, bounded time', async (status, code, mode: CallbackMode) => {
    await withServer(twirpError(status, code), async (url, received, dispatcher) => {
      const result = await sendCallback({ url, mode, twirpPrefix: '/twirp', payload, apiKey: 'k', secret: 's', dispatcher, ...fast });
      expect(result.attempts.map((a) => a.status)).toEqual([status, status, status]);
      expect(result).toMatchObject({ ok: false, status, body: { code }, answer: undefined });
      const path = mode === 'rest' ? '/PassOnPendingMessage' : `/twirp/${service}/PassOnPendingMessage`;
      expect(received.map((r) => r.path)).toEqual(Array(3).fill(path));
      expect(received.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2', '3']);
      expect(new Set(received.map((r) => r.headers['x-webhook-id']))).toEqual(new Set([result.webhookId]));
      expect(new Set(received.map((r) => r.headers['x-signature']))).toEqual(new Set([hmacHex(received[0]!.body, 's')]));
      // Quick answers: three round trips and two pauses, well inside the total limit.
      expect(result.totalMs).toBeGreaterThanOrEqual(2 * fast.backoffMs);
      expect(result.totalMs).toBeLessThan(2 * fast.backoffMs + 800);
      // Retries wait the backoff.
      expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(fast.backoffMs - 2);
    });
  });

  it.each([
    [400, 'malformed'],
    [401, 'unauthenticated'],
    [404, 'bad_route'],
    [412, 'failed_precondition'],
  ] as const)('%i (%s): no retry', async (status, code) => {
    await withServer(twirpError(status, code), async (url, received, dispatcher) => {
      const result = await sendCallback({ url, mode: 'twirp-json', twirpPrefix: '/twirp', payload, apiKey: 'k', secret: 's', dispatcher, ...fast });
      expect(result.attempts).toHaveLength(1);
      expect(received).toHaveLength(1);
      expect(result.status).toBe(status);
    });
  });

  it('a network error: 2 attempts, bounded time', async () => {
    await withServer((req) => req.socket.destroy(), async (url, received, dispatcher) => {
      const result = await sendCallback({ url, mode: 'twirp-protobuf', twirpPrefix: '/twirp', payload, apiKey: 'k', secret: 's', dispatcher, ...fast });
      expect(result.attempts.map((a) => a.errorKind)).toEqual(['network', 'network']);
      expect(result.status).toBeUndefined();
      expect(received.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2']);
      expect(result.totalMs).toBeLessThan(fast.backoffMs + 800);
    });
  });

  it('a slow server: 3 attempts, each cut at the request timeout', async () => {
    await withServer(() => undefined, async (url, received, dispatcher) => {
      const result = await sendCallback({ url, mode: 'twirp-json', twirpPrefix: '/twirp', payload, apiKey: 'k', secret: 's', dispatcher, ...fast });
      expect(result.attempts.map((a) => a.errorKind)).toEqual(['timeout', 'timeout', 'timeout']);
      expect(received).toHaveLength(3);
      for (const attempt of result.attempts) {
        expect(attempt.ms).toBeGreaterThanOrEqual(fast.requestTimeoutMs - 5);
        expect(attempt.ms).toBeLessThan(fast.requestTimeoutMs + 300);
      }
      expect(result.totalMs).toBeGreaterThanOrEqual(3 * fast.requestTimeoutMs + 2 * fast.backoffMs - 10);
      expect(result.totalMs).toBeLessThan(3 * fast.requestTimeoutMs + 2 * fast.backoffMs + 600);
    });
  });

  it('a server slower than the first request but quick on the retry: answered on attempt 2', async () => {
    const behaviour: Behaviour = (_req, res, n) => {
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"action":"ACTION_COMMIT","reason":"","timed_out":false,"accepted":false}');
      }, n === 1 ? 400 : 10);
    };
    await withServer(behaviour, async (url, _received, dispatcher) => {
      const result = await sendCallback({ url, mode: 'twirp-json', twirpPrefix: '/twirp', payload, apiKey: 'k', secret: 's', dispatcher, ...fast });
      expect(result.attempts.map((a) => a.status ?? a.errorKind)).toEqual(['timeout', 200]);
      expect(result.answer).toEqual({ action: 'commit', reason: undefined, timedOut: false, accepted: false });
    });
  });

  it(
    'a server that never answers, with Stream’s real limits: 6 s + 6 s + the 3 s left of 15 s',
    async () => {
      await withServer(() => undefined, async (url, received, dispatcher) => {
        const result = await sendCallback({ url, mode: 'twirp-protobuf', twirpPrefix: '/twirp', payload, apiKey: 'k', secret: 's', dispatcher });
        expect(result.attempts.map((a) => a.errorKind)).toEqual(['timeout', 'timeout', 'timeout']);
        expect(received).toHaveLength(3);
        expect(result.attempts[0]!.ms).toBeGreaterThanOrEqual(5990);
        expect(result.attempts[0]!.ms).toBeLessThan(6400);
        expect(result.attempts[1]!.ms).toBeGreaterThanOrEqual(5990);
        expect(result.attempts[2]!.ms).toBeLessThan(3000);
        expect(result.totalMs).toBeGreaterThanOrEqual(14_990);
        expect(result.totalMs).toBeLessThan(15_500);
      });
    },
    20_000,
  );
});
