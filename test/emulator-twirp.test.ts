import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callbackPath,
  createMockStreamApi,
  encodeCallback,
  sampleMessage,
  sampleMessages,
  samplePayload,
  sendCallback,
  type CallbackMode,
  type MockStreamApi,
} from '../src/emulator/index.js';
import { pendingMessageBodySchema } from '../src/event/message-schema.js';
import moderationHandlers from '../examples/moderation-handlers.js';
import { decide } from '../src/index.js';
import { PendingMessageRequest, Struct } from './twirp-client/client.js';
import { appKey, appSecret, startHooksServer, type RunningServer } from './support/servers.js';

/** Independent of src/: how Stream signs a body. */
const hmacHex = (bytes: Uint8Array | string, secret: string) => createHmac('sha256', secret).update(bytes).digest('hex');
const service = 'pendingmessage.v1.PendingMessageService';
const modes: CallbackMode[] = ['rest', 'twirp-protobuf', 'twirp-json'];

describe('encodeCallback', () => {
  const payload = samplePayload(sampleMessage({ id: 'enc-1', text: 'Привет 👋🏽 <b>', campaign_id: 'cmp_1', extra: { nested: [1, 'two', { three: true }] } }, 11));

  it('REST: the JSON as given', () => {
    const encoded = encodeCallback('rest', payload);
    expect(encoded.contentType).toBe('application/json');
    expect(JSON.parse(Buffer.from(encoded.body).toString('utf8'))).toEqual(payload);
  });

  it('twirp-protobuf: a PendingMessageRequest an independent protobuf decoder reads back', () => {
    const encoded = encodeCallback('twirp-protobuf', payload);
    expect(encoded.contentType).toBe('application/protobuf');
    const decoded = PendingMessageRequest.fromBinary(encoded.body);
    expect(decoded.message?.id).toBe('enc-1');
    expect(decoded.message?.text).toBe(payload.message.text);
    expect(decoded.message?.cid).toBe(payload.message.cid);
    expect(decoded.message?.user?.id).toBe(payload.message.user?.id);
    expect(decoded.metadata).toEqual(payload.metadata);
    expect(decoded.requestInfo?.userAgent).toBe(payload.request_info?.user_agent);
    const custom = Struct.toJson(decoded.message!.custom!) as Record<string, unknown>;
    expect(custom).toMatchObject({ campaign_id: 'cmp_1', extra: { nested: [1, 'two', { three: true }] } });
    expect(custom).not.toHaveProperty('text');
  });

  it('twirp-json: protobuf JSON with proto field names', () => {
    const encoded = encodeCallback('twirp-json', payload);
    expect(encoded.contentType).toBe('application/json');
    const json = JSON.parse(Buffer.from(encoded.body).toString('utf8')) as Record<string, any>;
    expect(Object.keys(json).sort()).toEqual(['message', 'metadata', 'request_info']);
    expect(json.message.id).toBe('enc-1');
    expect(json.request_info.user_agent).toBe(payload.request_info?.user_agent);
    expect(json.message.custom.campaign_id).toBe('cmp_1');
    // The independent client reads the same request from this JSON.
    expect(PendingMessageRequest.fromJson(json).message?.text).toBe(payload.message.text);
  });

  it('refuses a Twirp payload without message.id', () => {
    expect(() => encodeCallback('twirp-protobuf', { message: { text: 'x' } })).toThrow(TypeError);
    expect(() => encodeCallback('twirp-json', undefined)).toThrow(TypeError);
  });

  it('names the paths: /{method}, or {prefix}/{service}/{method}', () => {
    expect(callbackPath('rest', 'PassOnPendingMessage')).toBe('/PassOnPendingMessage');
    expect(callbackPath('twirp-json', 'DeletedPendingMessage')).toBe(`/twirp/${service}/DeletedPendingMessage`);
    expect(callbackPath('twirp-protobuf', 'PassOnPendingMessage', '')).toBe(`/${service}/PassOnPendingMessage`);
    expect(callbackPath('twirp-protobuf', 'PassOnPendingMessage', 'rpc/')).toBe(`/rpc/${service}/PassOnPendingMessage`);
  });
});

describe('sendCallback in Twirp modes (wire)', () => {
  let server: Server;
  let base: string;
  const received: { path: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];

  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"action":"ACTION_DELETE","reason":"r","timed_out":true,"accepted":false}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each([
    ['twirp-protobuf', false],
    ['twirp-protobuf', true],
    ['twirp-json', false],
    ['twirp-json', true],
  ] as const)('%s (gzip %s): {url}{prefix}/{service}/{method}, content type, signature over the exact uncompressed bytes', async (mode, gzip) => {
    received.length = 0;
    const payload = samplePayload(sampleMessage({ id: `wire-${mode}-${gzip}` }, 3));
    const result = await sendCallback({ url: base, mode, twirpPrefix: '/twirp', payload, apiKey: 'k', secret: 's', gzip, webhookId: 'w-1' });
    expect(result.ok).toBe(true);
    expect(result.mode).toBe(mode);
    expect(result.answer).toEqual({ action: 'delete', reason: 'r', timedOut: true, accepted: false });
    const [req] = received;
    expect(req!.path).toBe(`/hooks/twirp/${service}/PassOnPendingMessage`);
    expect(req!.headers['content-type']).toBe(mode === 'twirp-json' ? 'application/json' : 'application/protobuf');
    expect(req!.headers['x-api-key']).toBe('k');
    expect(req!.headers['x-webhook-id']).toBe('w-1');
    expect(req!.headers['x-webhook-attempt']).toBe('1');
    expect(req!.headers['content-encoding']).toBe(gzip ? 'gzip' : undefined);
    const raw = gzip ? gunzipSync(req!.body) : req!.body;
    expect([...raw]).toEqual([...encodeCallback(mode, payload).body]);
    expect(req!.headers['x-signature']).toBe(hmacHex(raw, 's'));
  });

  it('takes a custom or an empty prefix, and posts DeletedPendingMessage', async () => {
    received.length = 0;
    const payload = samplePayload(sampleMessage({ id: 'wire-prefix' }, 4));
    await sendCallback({ url: base, mode: 'twirp-json', twirpPrefix: '', payload, apiKey: 'k', secret: 's' });
    await sendCallback({ url: `${base}/`, mode: 'twirp-protobuf', twirpPrefix: '/rpc', method: 'DeletedPendingMessage', payload, apiKey: 'k', secret: 's' });
    expect(received.map((r) => r.path)).toEqual([`/hooks/${service}/PassOnPendingMessage`, `/hooks/rpc/${service}/DeletedPendingMessage`]);
  });
});

describe('sendCallback against a real pending-hooks server, every mode, gzip on and off', () => {
  let stream: MockStreamApi;
  let server: RunningServer;
  const timeoutMs = 500;

  beforeAll(async () => {
    stream = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
    server = await startHooksServer({ timeoutMs, fallback: 'keep_pending', api: { baseUrl: stream.url } }, (hooks) => {
      hooks.on('PassOnPendingMessage', moderationHandlers.PassOnPendingMessage);
      hooks.on('DeletedPendingMessage', moderationHandlers.DeletedPendingMessage!);
    });
  });
  afterAll(async () => {
    await server.close();
    await stream.close();
  });

  const script = [
    { text: 'Hey team, standup moved to 10:30 🙂' },
    { text: 'Get FREE CRYPTO now!!! click here' },
    { text: 'WHY IS NOBODY ANSWERING MY TICKET' },
    { text: 'download this https://totally-legit.zip now' },
    { text: 'this one makes the classifier think too long [slow]' },
    { text: 'これは普通のメッセージです', campaign_id: 'cmp_7', extra: { nested: { deeper: [1, 'two'] } } },
  ];

  it('answers and applies the same decisions whichever mode and compression carried the callback', async () => {
    const runs = await Promise.all(
      modes.flatMap((mode) =>
        [false, true].map(async (gzip) => {
          const decisions = await Promise.all(
            script.map(async (step, index) => {
              const message = sampleMessage({ ...step, html: undefined, id: `real-${mode}-${gzip}-${index}` }, `real-${index}`);
              expect(pendingMessageBodySchema.safeParse(samplePayload(message)).success).toBe(true);
              stream.addPendingMessage(message, { timeoutMs: 60_000 });
              const result = await sendCallback({
                url: server.url,
                mode,
                twirpPrefix: '/twirp',
                payload: samplePayload(message),
                apiKey: appKey,
                secret: appSecret,
                gzip,
              });
              expect(result.status, JSON.stringify(result.body)).toBe(200);
              expect(result.attempts).toHaveLength(1);
              return { ...result.answer, state: stream.stateOf(message.id) };
            }),
          );
          return { mode, gzip, decisions };
        }),
      ),
    );
    const expected = [
      { action: 'commit', reason: undefined, timedOut: false, accepted: false, state: 'committed' },
      { action: 'delete', reason: 'blocklist: free crypto', timedOut: false, accepted: false, state: 'deleted' },
      { action: 'keep_pending', reason: 'classifier: shouting, left for a human', timedOut: false, accepted: false, state: 'pending' },
      { action: 'delete', reason: 'classifier: suspicious link', timedOut: false, accepted: false, state: 'deleted' },
      { action: 'keep_pending', reason: 'timeout', timedOut: true, accepted: false, state: 'pending' },
      { action: 'commit', reason: undefined, timedOut: false, accepted: false, state: 'committed' },
    ];
    for (const run of runs) expect(run.decisions, `${run.mode} gzip=${run.gzip}`).toEqual(expected);
    // Each decision reached 'Stream' exactly once.
    for (const run of runs) {
      for (const [index] of script.entries()) {
        const id = `real-${run.mode}-${run.gzip}-${index}`;
        const wanted = expected[index]!.state === 'pending' ? 0 : 1;
        expect(stream.commitCount(id), id).toBe(wanted);
      }
    }
    // The server logged each Twirp callback with its transport.
    const transports = new Set(server.logs.filter((l) => l.msg === 'decision').map((l) => l.transport));
    expect(transports).toEqual(new Set(['rest', 'twirp-protobuf', 'twirp-json']));
  });

  it('delivers DeletedPendingMessage in every mode', async () => {
    for (const mode of modes) {
      for (const gzip of [false, true]) {
        const message = sampleMessage({ id: `deleted-${mode}-${gzip}` }, 9);
        const result = await sendCallback({ url: server.url, mode, twirpPrefix: '/twirp', method: 'DeletedPendingMessage', payload: samplePayload(message), apiKey: appKey, secret: appSecret, gzip });
        expect(result.status, `${mode} ${JSON.stringify(result.body)}`).toBe(200);
        expect(result.answer).toBeUndefined();
        expect(result.body).toEqual(mode === 'rest' ? { ok: true } : {});
      }
    }
  });

  it('is refused when signed with another secret, in every mode', async () => {
    for (const mode of modes) {
      const message = sampleMessage({ id: `refused-${mode}` }, 10);
      stream.addPendingMessage(message);
      const result = await sendCallback({ url: server.url, mode, twirpPrefix: '/twirp', payload: samplePayload(message), apiKey: appKey, secret: 'not-the-secret' });
      expect(result.status).toBe(401);
      expect(result.attempts).toHaveLength(1);
      expect(result.body).toMatchObject(mode === 'rest' ? { error: 'invalid_signature' } : { code: 'unauthenticated' });
      expect(stream.stateOf(message.id)).toBe('pending');
    }
  });

  it('round-trips many varied messages through Twirp: the handler sees what REST would carry', async () => {
    const seen = new Map<string, unknown>();
    const local = await startHooksServer({ timeoutMs: 1000 }, (hooks) =>
      hooks.on('PassOnPendingMessage', (event) => {
        seen.set(`${event.transport}:${event.message.id}`, { text: event.message.text, user: event.message.user?.id, mentions: event.message.mentioned_users?.length ?? 0, attachments: event.message.attachments?.length ?? 0, priority: event.message.priority, metadata: event.metadata });
        return decide.commit();
      }),
    );
    try {
      const messages = sampleMessages(20, 'twirp-variety');
      for (const message of messages) {
        for (const mode of modes) {
          const result = await sendCallback({ url: local.url, mode, twirpPrefix: '/twirp', payload: samplePayload(message), apiKey: appKey, secret: appSecret, gzip: mode === 'twirp-json' });
          expect(result.status, JSON.stringify(result.body)).toBe(200);
        }
        const rest = seen.get(`rest:${message.id}`);
        expect(rest).toBeDefined();
        expect(seen.get(`twirp-protobuf:${message.id}`)).toEqual(rest);
        expect(seen.get(`twirp-json:${message.id}`)).toEqual(rest);
      }
    } finally {
      await local.close();
    }
  });
});
