import { toBinary, toJsonString, create } from '@bufbuild/protobuf';
import { RpcError } from '@protobuf-ts/runtime-rpc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import { PendingMessageRequestSchema } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { decide, type PendingHooks, type PendingHooksOptions, type PendingMessageEvent } from '../src/index.js';
import { pendingMessageRequestFromBody } from '../src/transports/twirp/message-convert.js';
import { appKey, appSecret, postSigned, serverLatencyMs, sleep, startHooksServer, type RunningServer } from './support/servers.js';
import { streamSignature } from './support/sign-fixture.js';
import { Action, PendingMessageRequest, createTwirpTestClient, type PendingMessageServiceClient } from './twirp-client/client.js';

const service = 'pendingmessage.v1.PendingMessageService';
const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: PendingHooksOptions, register: (hooks: PendingHooks) => void): Promise<RunningServer> {
  const s = await startHooksServer(options, register);
  servers.push(s);
  return s;
}

const moderate = (hooks: PendingHooks) =>
  hooks.on('PassOnPendingMessage', (e) => (e.message.text?.includes('spam') ? decide.delete('spam') : e.message.text?.includes('hold') ? decide.keepPending('review') : decide.commit()));

function request(id: string, text: string) {
  return PendingMessageRequest.create({
    message: { id, text, type: 'regular', cid: 'messaging:general', user: { id: 'u1', name: 'Ann' }, mentionedUsers: [], attachments: [] },
    metadata: { source: 'twirp-test' },
    requestInfo: { type: 'client', sdk: 'stream-chat-go' },
  });
}

/** Signs exactly the bytes protobuf-ts will send (its serializers are deterministic). */
function signedMeta(req: PendingMessageRequest, json: boolean, extra: Record<string, string> = {}) {
  const bytes = json ? PendingMessageRequest.toJsonString(req) : PendingMessageRequest.toBinary(req);
  return { 'x-signature': streamSignature(appSecret, bytes), 'x-api-key': appKey, ...extra };
}

async function passOn(client: PendingMessageServiceClient, req: PendingMessageRequest, json: boolean, extra?: Record<string, string>) {
  const { response } = await client.passOnPendingMessage(req, { meta: signedMeta(req, json, extra) });
  return { action: response.action, reason: response.reason, timedOut: response.timedOut, accepted: response.accepted };
}

describe('Twirp through an independent client (protobuf-ts twirp-transport)', () => {
  for (const json of [false, true]) {
    const encoding = json ? 'JSON' : 'protobuf';
    it(`PassOnPendingMessage and DeletedPendingMessage in ${encoding}`, async () => {
      let seen: PendingMessageEvent | undefined;
      const s = await server({}, (hooks) => {
        moderate(hooks);
        hooks.on('DeletedPendingMessage', (e) => void (seen = e));
      });
      const client = createTwirpTestClient(`${s.url}/twirp`, { json });
      expect(await passOn(client, request('t1', 'hello'), json)).toEqual({ action: Action.COMMIT, reason: '', timedOut: false, accepted: false });
      expect(await passOn(client, request('t2', 'spam!'), json)).toEqual({ action: Action.DELETE, reason: 'spam', timedOut: false, accepted: false });
      expect(await passOn(client, request('t3', 'hold on'), json)).toEqual({ action: Action.KEEP_PENDING, reason: 'review', timedOut: false, accepted: false });
      const gone = request('t4', 'bye');
      const { response } = await client.deletedPendingMessage(gone, { meta: signedMeta(gone, json, { 'x-webhook-id': `del-${encoding}` }) });
      expect(response).toEqual({});
      expect(seen).toMatchObject({ method: 'DeletedPendingMessage', transport: json ? 'twirp-json' : 'twirp-protobuf', webhookId: `del-${encoding}`, message: { id: 't4', text: 'bye', user: { id: 'u1', name: 'Ann' } }, metadata: { source: 'twirp-test' }, requestInfo: { type: 'client', sdk: 'stream-chat-go' } });
    });

    it(`refuses an unsigned or wrongly signed ${encoding} call as unauthenticated`, async () => {
      const s = await server({}, moderate);
      const client = createTwirpTestClient(`${s.url}/twirp`, { json });
      const req = request('t5', 'hello');
      await expect(client.passOnPendingMessage(req, { meta: { 'x-api-key': appKey } })).rejects.toMatchObject({ code: 'unauthenticated' });
      await expect(client.passOnPendingMessage(req, { meta: { 'x-api-key': appKey, 'x-signature': streamSignature('wrong', PendingMessageRequest.toBinary(req)) } })).rejects.toBeInstanceOf(RpcError);
    });
  }

  it('the same handler gives the same decisions over REST, Twirp protobuf and Twirp JSON', async () => {
    const seen: PendingMessageEvent[] = [];
    const s = await server({}, (hooks) =>
      hooks.on('PassOnPendingMessage', (e) => {
        seen.push(e);
        return e.message.text?.includes('spam') ? decide.delete('spam') : e.message.user?.team === 'red' ? decide.keepPending('red team') : decide.commit();
      }),
    );
    const messages = [
      { id: 'x1', text: 'hello 👋', user: { id: 'u', name: 'N', team: 'blue' }, priority: 3 },
      { id: 'x2', text: 'spam spam', user: { id: 'u', team: 'blue' } },
      { id: 'x3', text: 'Grüße', user: { id: 'u', team: 'red' }, attachments: [{ type: 'image', image_url: 'https://x/y.png', size: 10 }] },
    ];
    const answers: Record<string, unknown[]> = { rest: [], proto: [], json: [] };
    for (const message of messages) {
      const body = { message, metadata: { k: 'v' }, request_info: { type: 'client' } };
      answers.rest!.push(await (await postSigned(`${s.url}/PassOnPendingMessage`, JSON.stringify(body))).json());
      const req = create(PendingMessageRequestSchema, pendingMessageRequestFromBody(body as never));
      const bytes = toBinary(PendingMessageRequestSchema, req);
      const protoAnswer = await postSigned(`${s.url}/twirp/${service}/PassOnPendingMessage`, bytes, { contentType: 'application/protobuf' });
      answers.proto!.push(PendingMessageRequest && (await decodeAnswer(protoAnswer)));
      const jsonBody = toJsonString(PendingMessageRequestSchema, req);
      answers.json!.push(await decodeAnswer(await postSigned(`${s.url}/twirp/${service}/PassOnPendingMessage`, jsonBody, { contentType: 'application/json' })));
    }
    expect(answers.rest).toEqual([
      { action: 'commit', timed_out: false },
      { action: 'delete', reason: 'spam', timed_out: false },
      { action: 'keep_pending', reason: 'red team', timed_out: false },
    ]);
    expect(answers.proto).toEqual(answers.rest);
    expect(answers.json).toEqual(answers.rest);
    // One typed event whatever the wire: the handler saw equal messages.
    const byTransport = (t: string) => seen.filter((e) => e.transport === t).map((e) => e.message);
    expect(byTransport('twirp-protobuf')).toEqual(byTransport('rest'));
    expect(byTransport('twirp-json')).toEqual(byTransport('rest'));
  });
});

/** Normalises a Twirp answer (either encoding) to the REST answer's shape. */
async function decodeAnswer(response: Response): Promise<unknown> {
  expect(response.status).toBe(200);
  const type = response.headers.get('content-type') ?? '';
  const { PendingMessageResponse } = await import('./twirp-client/client.js');
  const decoded = type.includes('protobuf')
    ? PendingMessageResponse.fromBinary(new Uint8Array(await response.arrayBuffer()))
    : PendingMessageResponse.fromJson((await response.json()) as never);
  const action = ({ [Action.COMMIT]: 'commit', [Action.DELETE]: 'delete', [Action.KEEP_PENDING]: 'keep_pending' } as Record<number, string>)[decoded.action];
  return decoded.reason ? { action, reason: decoded.reason, timed_out: decoded.timedOut } : { action, timed_out: decoded.timedOut };
}

describe('Twirp wire details over raw HTTP', () => {
  let s: RunningServer;
  let mock: MockStreamApi;
  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
    s = await startHooksServer({ api: { baseUrl: mock.url }, timeoutMs: 300, retry: { baseBackoffMs: 5, maxBackoffMs: 20 } }, moderate);
  });
  afterAll(async () => {
    await s.close();
    await mock.close();
  });
  const url = (method = 'PassOnPendingMessage') => `${s.url}/twirp/${service}/${method}`;
  const protoBody = (id = 'w1', text = 'hi') => toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, pendingMessageRequestFromBody({ message: { id, text } })));

  async function expectTwirpError(response: Response, status: number, code: string) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { code: string; msg: string };
    expect(body.code).toBe(code);
    expect(typeof body.msg).toBe('string');
  }

  it('answers JSON with proto field names and unpopulated fields, in the request encoding', async () => {
    const response = await postSigned(url(), JSON.stringify({ message: { id: 'j1', text: 'hello' } }));
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ action: 'ACTION_COMMIT', reason: '', timed_out: false, accepted: false });
    const camel = await postSigned(url(), JSON.stringify({ message: { id: 'j2', text: 'hold', quotedMessageId: 'q', showInChannel: true }, requestInfo: { userAgent: 'x' }, unknownField: 1 }));
    expect(await camel.json()).toEqual({ action: 'ACTION_KEEP_PENDING', reason: 'review', timed_out: false, accepted: false });
    const proto = await postSigned(url(), protoBody(), { contentType: 'application/protobuf' });
    expect(proto.headers.get('content-type')).toBe('application/protobuf');
    const charset = await postSigned(url(), JSON.stringify({ message: { id: 'j3' } }), { contentType: 'application/json; charset=utf-8' });
    expect(charset.status).toBe(200);
  });

  it('bad_route: wrong method, unknown service or method, other content type (before the signature)', async () => {
    await expectTwirpError(await fetch(url(), { method: 'GET' }), 404, 'bad_route');
    await expectTwirpError(await postSigned(url('Nope'), '{}'), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${s.url}/twirp/other.v1.Service/PassOnPendingMessage`, '{}'), 404, 'bad_route');
    await expectTwirpError(await postSigned(url(), 'hello', { contentType: 'text/plain', secret: null }), 404, 'bad_route');
    await expectTwirpError(await postSigned(url(), protoBody(), { contentType: 'application/x-protobuf', secret: null }), 404, 'bad_route');
  });

  it('unauthenticated: missing, invalid, other-secret signatures over protobuf bytes', async () => {
    const body = protoBody();
    expect((await postSigned(url(), body, { contentType: 'application/protobuf' })).status).toBe(200);
    await expectTwirpError(await postSigned(url(), body, { contentType: 'application/protobuf', secret: null }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), body, { contentType: 'application/protobuf', signature: 'f'.repeat(64) }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), body, { contentType: 'application/protobuf', secret: 'other' }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), body, { contentType: 'application/protobuf', apiKey: 'nope' }), 401, 'unauthenticated');
  });

  it('malformed: truncated, garbage, deeply nested protobuf; broken, deep or wrong-typed JSON', async () => {
    const body = protoBody('trunc', 'a longer text so truncation cuts a field');
    await expectTwirpError(await postSigned(url(), body.subarray(0, body.length - 5), { contentType: 'application/protobuf' }), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), { contentType: 'application/protobuf' }), 400, 'malformed');
    // A Struct nested far past the decoder's recursion limit.
    let nested: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 200; i++) nested = { n: nested };
    const deepStruct = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, pendingMessageRequestFromBody({ message: { id: 'deep', payload: nested } as never })));
    await expectTwirpError(await postSigned(url(), deepStruct, { contentType: 'application/protobuf' }), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message": {"id": ', {}), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), `{"message":{"id":"d","custom":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}}`), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":{"id":"w","silent":"yes"}}'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":{"id":7}}'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), ''), 400, 'malformed');
  });

  it('invalid_argument: no message.id, body over the size limit (raw or inflated)', async () => {
    await expectTwirpError(await postSigned(url(), '{"message":{"text":"no id"}}'), 400, 'invalid_argument');
    await expectTwirpError(await postSigned(url(), toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, {})), { contentType: 'application/protobuf' }), 400, 'invalid_argument');
    const big = protoBody('big', 'x'.repeat(1024 * 1024));
    await expectTwirpError(await postSigned(url(), big, { contentType: 'application/protobuf' }), 400, 'invalid_argument');
  });

  it('unknown fields and unknown enum-like values are ignored, not refused', async () => {
    // Field 99 (varint) appended to a valid request: unknown to the schema.
    const withUnknown = new Uint8Array([...protoBody('u1', 'hello'), 0x98, 0x06, 0x2a]);
    expect((await postSigned(url(), withUnknown, { contentType: 'application/protobuf' })).status).toBe(200);
    const json = await postSigned(url(), JSON.stringify({ message: { id: 'u2', type: 'SOME_FUTURE_TYPE' }, futureEnum: 'FUTURE_VALUE' }));
    expect(json.status).toBe(200);
  });

  it('budget and fallback over Twirp: timed_out true, answered before the budget', async () => {
    const slow = await server({ timeoutMs: 250, fallback: 'delete' }, (hooks) => hooks.on('PassOnPendingMessage', async () => (await sleep(1000), decide.commit())));
    const response = await postSigned(`${slow.url}/twirp/${service}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'slow' } }));
    expect(serverLatencyMs(slow, 'slow')).toBeLessThan(250);
    expect(await response.json()).toEqual({ action: 'ACTION_DELETE', reason: 'timeout', timed_out: true, accepted: false });
  });

  it('a decision the API cannot take answers unavailable (503) so Stream retries', async () => {
    mock.addPendingMessage({ id: 'fail-1' });
    mock.injectFaults({ action: 'commit', status: 500, count: 1000 });
    try {
      await expectTwirpError(await postSigned(url(), JSON.stringify({ message: { id: 'fail-1', text: 'ok' } }), { webhookId: 'tw-503' }), 503, 'unavailable');
    } finally {
      mock.reset();
    }
  });

  it('ack-first over Twirp answers accepted with ACTION_UNSPECIFIED', async () => {
    const ack = await server({ answer: 'ack-first' }, moderate);
    const response = await postSigned(`${ack.url}/twirp/${service}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'a' } }));
    expect(await response.json()).toEqual({ action: 'ACTION_UNSPECIFIED', reason: '', timed_out: false, accepted: true });
  });
});

describe('one dispatcher across transports', () => {
  it('the same webhook id sent over REST then Twirp runs the handler once', async () => {
    let runs = 0;
    const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', () => (runs++, decide.delete('once'))));
    const body = { message: { id: 'cross', text: 'x' } };
    const rest = await postSigned(`${s.url}/PassOnPendingMessage`, JSON.stringify(body), { webhookId: 'cross-1' });
    expect(await rest.json()).toEqual({ action: 'delete', reason: 'once', timed_out: false });
    const twirp = await postSigned(`${s.url}/twirp/${service}/PassOnPendingMessage`, JSON.stringify(body), { webhookId: 'cross-1', attempt: 2 });
    expect(await twirp.json()).toEqual({ action: 'ACTION_DELETE', reason: 'once', timed_out: false, accepted: false });
    expect(runs).toBe(1);
  });
});

describe('the Twirp prefix option', () => {
  it('serves a custom prefix', async () => {
    const s = await server({ twirp: { prefix: '/rpc/v1' } }, moderate);
    expect((await postSigned(`${s.url}/rpc/v1/${service}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'p' } }))).status).toBe(200);
    const old = await postSigned(`${s.url}/twirp/${service}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'p' } }));
    expect(old.status).toBe(404);
  });

  it("with REST mount and Twirp prefix both '', /{package}.{Service}/{Method} is Twirp and every other path is REST", async () => {
    const s = await server({ twirp: { prefix: '' }, rest: { mount: '' } }, moderate);
    const client = createTwirpTestClient(s.url, { json: false });
    expect((await passOn(client, request('e1', 'spam'), false)).action).toBe(Action.DELETE);
    expect((await postSigned(`${s.url}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'e2' } }))).status).toBe(200);
    const badTwirp = await postSigned(`${s.url}/${service}/Unknown`, '{}');
    expect(badTwirp.status).toBe(404);
    expect(((await badTwirp.json()) as { code: string }).code).toBe('bad_route');
    const badRest = await postSigned(`${s.url}/Unknown`, '{}');
    expect(badRest.status).toBe(404);
    expect(((await badRest.json()) as { error: string }).error).toBe('not_found');
  });

  it('twirp: false serves REST only', async () => {
    const s = await server({ twirp: false }, moderate);
    expect((await postSigned(`${s.url}/twirp/${service}/PassOnPendingMessage`, '{}')).status).toBe(404);
  });

  it('signature checks can be turned off for Twirp alone, explicitly', async () => {
    const s = await server({ verifySignatures: { twirp: false } }, moderate);
    expect((await postSigned(`${s.url}/twirp/${service}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'ns' } }), { secret: null })).status).toBe(200);
    expect((await postSigned(`${s.url}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'ns' } }), { secret: null })).status).toBe(401);
    expect(s.logs.some((l) => /SIGNATURE CHECKS ARE OFF/.test(String(l.msg)))).toBe(true);
  });
});
