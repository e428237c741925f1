/**
 * The Twirp wire contract against a real listening server (protobuf and JSON): answers, error
 * codes and content types, the order of the checks, limits. Interop with independent Twirp
 * clients is in twirp-server.test.ts.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Action, PendingMessageRequestSchema, PendingMessageResponseSchema, MessageSchema } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { decide, type PendingMessageEvent } from '../src/index.js';
import { appKey, appSecret, postSigned, startHooksServer, type RunningServer } from './support/servers.js';
import { streamSignature } from './support/sign-fixture.js';
import { MiB, service, uid, jsonOfSize, protoOfSize, protoRequest, twirpJsonBody, twirpPath, expectTwirpError, register } from './support/contract.js';

describe('Twirp wire protocol (default /twirp prefix)', () => {
  let server: RunningServer;
  const seen: PendingMessageEvent[] = [];
  const counts = new Map<string, number>();
  beforeAll(async () => {
    server = await startHooksServer({}, register(seen, counts));
  });
  afterAll(() => server.close());
  const url = (method = 'PassOnPendingMessage') => `${server.url}${twirpPath(method)}`;
  const pb = { contentType: 'application/protobuf' };

  it('protobuf in → protobuf out (content type application/protobuf), decision fields set', async () => {
    const response = await postSigned(url(), protoRequest(uid(), 'bad'), pb);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/protobuf');
    const answer = fromBinary(PendingMessageResponseSchema, new Uint8Array(await response.arrayBuffer()));
    expect(answer.action).toBe(Action.DELETE);
    expect(answer.reason).toBe('blocklist');
    expect(answer.timedOut).toBe(false);
    expect(answer.accepted).toBe(false);
  });

  it('JSON in → JSON out with proto field names and unpopulated fields emitted', async () => {
    const response = await postSigned(url(), twirpJsonBody(uid()));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toStrictEqual({ action: 'ACTION_COMMIT', reason: '', timed_out: false, accepted: false });
    expect(await (await postSigned(url(), twirpJsonBody(uid(), 'keep'))).json()).toStrictEqual({ action: 'ACTION_KEEP_PENDING', reason: '', timed_out: false, accepted: false });
    expect(await (await postSigned(url(), twirpJsonBody(uid(), 'throw'))).json()).toStrictEqual({ action: 'ACTION_KEEP_PENDING', reason: 'handler_error', timed_out: false, accepted: false });
  });

  it('DeletedPendingMessageResponse is an empty message (protobuf: 0 bytes, JSON: {})', async () => {
    const binary = await postSigned(url('DeletedPendingMessage'), protoRequest(uid()), pb);
    expect(binary.status).toBe(200);
    expect(binary.headers.get('content-type')).toBe('application/protobuf');
    expect((await binary.arrayBuffer()).byteLength).toBe(0);
    const json = await postSigned(url('DeletedPendingMessage'), twirpJsonBody(uid()));
    expect(json.status).toBe(200);
    expect(await json.json()).toStrictEqual({});
  });

  it('JSON requests accept lowerCamelCase and ignore unknown fields; custom is flattened', async () => {
    const id = uid();
    const body = JSON.stringify({
      message: { id, text: 'hi', parentId: 'p1', showInChannel: true, quotedMessageId: 'q1', custom: { flag: true, priority: 'high' }, notAField: 1 },
      requestInfo: { userAgent: 'agent', sdk: 'js' },
      metadata: { k: 'v' },
      somethingNew: { nested: [1, 2] },
    });
    const response = await postSigned(url(), body);
    expect(response.status).toBe(200);
    const event = seen.find((e) => e.message.id === id)!;
    expect(event.transport).toBe('twirp-json');
    expect(event.message).toMatchObject({ id, parent_id: 'p1', show_in_channel: true, quoted_message_id: 'q1', flag: true, priority: 'high' });
    expect(event.requestInfo).toMatchObject({ user_agent: 'agent', sdk: 'js' });
    expect(event.metadata).toEqual({ k: 'v' });
  });

  it('a request without message.id → invalid_argument 400 (JSON and protobuf)', async () => {
    for (const body of ['{}', '{"message":{}}', '{"message":{"id":""}}', '{"message":null}', '{"message":{"text":"x"}}']) {
      await expectTwirpError(await postSigned(url(), body), 400, 'invalid_argument');
    }
    await expectTwirpError(await postSigned(url(), new Uint8Array(0), pb), 400, 'invalid_argument');
    const noId = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: { text: 'x' } }));
    await expectTwirpError(await postSigned(url(), noId, pb), 400, 'invalid_argument');
    await expectTwirpError(await postSigned(url('DeletedPendingMessage'), '{"message":{}}'), 400, 'invalid_argument');
  });

  it('undecodable bodies → malformed 400 (JSON and protobuf); empty JSON body → malformed', async () => {
    await expectTwirpError(await postSigned(url(), ''), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":{"id":5}}'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), pb), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), Buffer.from([0x0a, 0x7f, 0x01]), pb), 400, 'malformed');
  });

  it('JSON depth: exactly 64 passes, 65 → malformed (unknown field and inside custom Struct)', async () => {
    const top64 = `{"message":{"id":"${uid()}"},"extra":${'['.repeat(63)}${']'.repeat(63)}}`;
    const top65 = `{"message":{"id":"t65"},"extra":${'['.repeat(64)}${']'.repeat(64)}}`;
    expect((await postSigned(url(), top64)).status).toBe(200);
    await expectTwirpError(await postSigned(url(), top65), 400, 'malformed');
    // outer 1, message 2, custom 3, then 61 arrays → 64
    const c64 = `{"message":{"id":"${uid()}","custom":{"deep":${'['.repeat(61)}${']'.repeat(61)}}}}`;
    const c65 = `{"message":{"id":"c65","custom":{"deep":${'['.repeat(62)}${']'.repeat(62)}}}}`;
    expect((await postSigned(url(), c64)).status).toBe(200);
    await expectTwirpError(await postSigned(url(), c65), 400, 'malformed');
  });

  it('protobuf nesting past the recursion limit → malformed, never a crash', async () => {
    let nested: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 300; i++) nested = { a: nested };
    const bytes = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: create(MessageSchema, { id: 'deep', custom: nested as never }) }));
    await expectTwirpError(await postSigned(url(), bytes, pb), 400, 'malformed');
    expect((await postSigned(url(), protoRequest(uid()), pb)).status).toBe(200);
  });

  it('size: exactly 1 MiB accepted, 1 MiB + 1 → invalid_argument 400 (protobuf and JSON, raw and inflated)', async () => {
    expect((await postSigned(url(), protoOfSize(MiB, uid()), pb)).status).toBe(200);
    await expectTwirpError(await postSigned(url(), protoOfSize(MiB + 1), pb), 400, 'invalid_argument');
    expect((await postSigned(url(), jsonOfSize(MiB, uid()))).status).toBe(200);
    await expectTwirpError(await postSigned(url(), jsonOfSize(MiB + 1)), 400, 'invalid_argument');
    const overJ = jsonOfSize(MiB + 1);
    await expectTwirpError(await postSigned(url(), overJ, { wire: gzipSync(overJ), headers: { 'content-encoding': 'gzip' } }), 400, 'invalid_argument');
    const exactJ = jsonOfSize(MiB, uid());
    expect((await postSigned(url(), exactJ, { wire: gzipSync(exactJ), headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
    const overP = protoOfSize(MiB + 1);
    await expectTwirpError(await postSigned(url(), overP, { ...pb, wire: gzipSync(overP), headers: { 'content-encoding': 'gzip' } }), 400, 'invalid_argument');
    const exactP = protoOfSize(MiB, uid());
    expect((await postSigned(url(), exactP, { ...pb, wire: gzipSync(exactP), headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
  });

  it('signature: same X-Signature over raw protobuf / JSON bytes; missing, bad or compressed → unauthenticated 401', async () => {
    await expectTwirpError(await postSigned(url(), protoRequest(uid()), { ...pb, secret: null }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), twirpJsonBody(uid()), { secret: 'wrong' }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), twirpJsonBody(uid()), { apiKey: 'nope' }), 401, 'unauthenticated');
    const body = protoRequest(uid());
    const wire = gzipSync(body);
    await expectTwirpError(await postSigned(url(), body, { ...pb, wire, signature: streamSignature(appSecret, wire), headers: { 'content-encoding': 'gzip' } }), 401, 'unauthenticated');
    expect((await postSigned(url(), body, { ...pb, wire, headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
    const upper = protoRequest(uid());
    expect((await postSigned(url(), upper, { ...pb, signature: streamSignature(appSecret, upper).toUpperCase() })).status).toBe(200);
  });

  it('wrong method, unknown route or content type → bad_route 404 (JSON, application/json)', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      await expectTwirpError(await fetch(url(), { method }), 404, 'bad_route');
    }
    await expectTwirpError(await postSigned(`${server.url}/twirp/${service}/Nope`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${server.url}/twirp/other.v1.Service/PassOnPendingMessage`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${server.url}/twirp/${service}/passonpendingmessage`, twirpJsonBody(uid())), 404, 'bad_route');
    for (const contentType of ['text/plain', 'application/x-protobuf', 'application/grpc', 'application/proto', 'multipart/form-data']) {
      await expectTwirpError(await postSigned(url(), twirpJsonBody(uid()), { contentType, secret: null }), 404, 'bad_route');
    }
    const none = await fetch(url(), { method: 'POST', body: new Uint8Array(protoRequest(uid())) });
    await expectTwirpError(none, 404, 'bad_route');
  });

  it('order for Twirp: route/method → content type → size → signature → decode → validate', async () => {
    await expectTwirpError(await fetch(url(), { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'bad_route');
    await expectTwirpError(await postSigned(url(), 'x'.repeat(MiB + 5), { contentType: 'text/plain', secret: null }), 404, 'bad_route');
    await expectTwirpError(await postSigned(url(), jsonOfSize(MiB + 1), { secret: null }), 400, 'invalid_argument');
    await expectTwirpError(await postSigned(url(), '{"message":', { secret: null }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), Buffer.from([0xff, 0xff]), { ...pb, secret: null }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), '{"message":'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":{}}'), 400, 'invalid_argument');
  });

  it('Twirp content type: charset parameter and upper case accepted', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=UTF-8']) {
      const response = await postSigned(url(), twirpJsonBody(uid()), { contentType });
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 200 });
      expect(((await response.json()) as { action: string }).action).toBe('ACTION_COMMIT');
    }
    const response = await postSigned(url(), protoRequest(uid()), { contentType: 'Application/Protobuf' });
    expect(response.status).toBe(200);
  });

  it('the event from protobuf has the REST shape', async () => {
    const id = uid();
    await postSigned(url(), protoRequest(id, 'hi', { k: 'v' }), { ...pb, webhookId: `w-${id}`, attempt: 2 });
    const event = seen.find((e) => e.message.id === id)!;
    expect(event).toMatchObject({ transport: 'twirp-protobuf', webhookId: `w-${id}`, attempt: 2, metadata: { k: 'v' }, requestInfo: { type: 'client', user_agent: 'ua' }, message: { id, text: 'hi', user: { id: 'u1' } } });
  });

  it('several hostile Twirp requests return errors in Twirp JSON, server keeps serving', async () => {
    const answers = await Promise.all([
      postSigned(url(), Buffer.from([0x1f, 0x8b, 0, 0]), pb),
      postSigned(url(), Buffer.from([0x1f, 0x8b, 0, 0]), { headers: { 'content-encoding': 'gzip' } }),
      postSigned(url(), Buffer.from([0xff, 0xfe, 0xfd]), { contentType: 'application/json' }),
      postSigned(url(), '['.repeat(100_000)),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json(;|$)/);
      expect(((await answer.json()) as { code: string }).code).toBe('malformed');
    }
    expect((await postSigned(url(), protoRequest(uid()), pb)).status).toBe(200);
  });
});

describe('Twirp content type of answers', () => {
  const hooksFor = (options: Parameters<typeof startHooksServer>[0] = {}) =>
    startHooksServer(options, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit('ok')));

  it('Twirp errors and answers carry exactly Content-Type: application/json', async () => {
    const s = await hooksFor();
    try {
      const error = await fetch(`${s.url}/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(error.status).toBe(401);
      expect(error.headers.get('content-type')).toBe('application/json');
      const body = JSON.stringify({ message: { id: 'ct' } });
      const answer = await fetch(`${s.url}/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': streamSignature(appSecret, body), 'x-api-key': appKey }, body });
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(await answer.json()).toMatchObject({ action: 'ACTION_COMMIT', reason: 'ok' });
    } finally {
      await s.close();
    }
  });
});
