import { gzipSync } from 'node:zlib';
import { create, toBinary, toJsonString, type DescMethodUnary, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { createMethodSerializationLookup, validateReadWriteMaxBytes } from '@connectrpc/connect/protocol';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import { Action, PendingMessageRequestSchema, PendingMessageService } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { createPendingHooks, decide, pendingHooksPlugin, type PendingMessageEvent } from '../src/index.js';
import { appKey, appSecret, postSigned, sleep, startHooksServer, type RunningServer } from './support/servers.js';
import { streamSignature } from './support/sign-fixture.js';

type Request = MessageShape<typeof PendingMessageRequestSchema>;

/** Signs the exact bytes the transport sends: the message (Connect) or its envelope (gRPC-Web). */
function signing(kind: 'connect-proto' | 'connect-json' | 'grpc-web', secret = appSecret): Interceptor {
  return (next) => async (req) => {
    const message = req.message as Request;
    let bytes: Uint8Array | string;
    if (kind === 'connect-json') bytes = toJsonString(PendingMessageRequestSchema, message);
    else {
      const body = toBinary(PendingMessageRequestSchema, message);
      if (kind === 'connect-proto') bytes = body;
      else {
        const envelope = new Uint8Array(5 + body.length);
        new DataView(envelope.buffer).setUint32(1, body.length);
        envelope.set(body, 5);
        bytes = envelope;
      }
    }
    req.header.set('x-signature', streamSignature(secret, bytes));
    req.header.set('x-api-key', appKey);
    return next(req);
  };
}

const seen: PendingMessageEvent[] = [];
let s: RunningServer;
beforeAll(async () => {
  s = await startHooksServer({ connect: {}, timeoutMs: 300, fallback: 'commit' }, (hooks) => {
    hooks.on('PassOnPendingMessage', async (e) => {
      seen.push(e);
      if (e.message.text === 'slow') await sleep(1000);
      return e.message.text?.includes('spam') ? decide.delete('spam') : decide.commit();
    });
    hooks.on('DeletedPendingMessage', (e) => void seen.push(e));
  });
});
afterAll(() => s.close());

const request = (id: string, text: string) => create(PendingMessageRequestSchema, { message: { id, text, user: { id: 'u' } }, metadata: { m: '1' } });

describe('Connect and gRPC-Web on the same handlers', () => {
  const kinds = [
    ['connect-proto', () => createConnectTransport({ baseUrl: `${s.url}/connect`, httpVersion: '1.1', useBinaryFormat: true, interceptors: [signing('connect-proto')] })],
    ['connect-json', () => createConnectTransport({ baseUrl: `${s.url}/connect`, httpVersion: '1.1', useBinaryFormat: false, interceptors: [signing('connect-json')] })],
    ['grpc-web', () => createGrpcWebTransport({ baseUrl: `${s.url}/connect`, httpVersion: '1.1', useBinaryFormat: true, interceptors: [signing('grpc-web')] })],
  ] as const;

  for (const [kind, transport] of kinds) {
    it(`${kind}: decisions, deletes, and the budget's fallback`, async () => {
      const client = createClient(PendingMessageService, transport());
      expect(await client.passOnPendingMessage(request(`${kind}-1`, 'hello'))).toMatchObject({ action: Action.COMMIT, reason: '', timedOut: false });
      expect(await client.passOnPendingMessage(request(`${kind}-2`, 'spam'))).toMatchObject({ action: Action.DELETE, reason: 'spam' });
      expect(await client.passOnPendingMessage(request(`${kind}-3`, 'slow'))).toMatchObject({ action: Action.COMMIT, reason: 'timeout', timedOut: true });
      await client.deletedPendingMessage(request(`${kind}-4`, 'bye'));
      expect(seen.find((e) => e.message.id === `${kind}-4`)).toMatchObject({ method: 'DeletedPendingMessage', transport: 'connect', message: { text: 'bye', user: { id: 'u' } }, metadata: { m: '1' } });
    });
  }

  it('refuses unsigned and wrongly signed calls as unauthenticated, in each protocol', async () => {
    const unsigned = createClient(PendingMessageService, createConnectTransport({ baseUrl: `${s.url}/connect`, httpVersion: '1.1' }));
    await expect(unsigned.passOnPendingMessage(request('u1', 'x'))).rejects.toMatchObject({ code: Code.Unauthenticated });
    const wrong = createClient(PendingMessageService, createGrpcWebTransport({ baseUrl: `${s.url}/connect`, httpVersion: '1.1', interceptors: [signing('grpc-web', 'wrong')] }));
    await expect(wrong.passOnPendingMessage(request('u2', 'x'))).rejects.toMatchObject({ code: Code.Unauthenticated });
    const raw = await fetch(`${s.url}/connect/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":{"id":"r"}}' });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toEqual({ code: 'unauthenticated', message: 'unauthenticated' });
  });

  it('through the fastify plugin in a host app: the same routes and stages', async () => {
    const host = Fastify();
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }), connect: {} });
    hooks.on('PassOnPendingMessage', (e) => (e.message.text === 'spam' ? decide.delete('spam') : decide.commit()));
    await host.register(pendingHooksPlugin, { hooks, prefix: '/stream' });
    const url = await host.listen({ port: 0, host: '127.0.0.1' });
    try {
      const baseUrl = `${url}/stream/connect`;
      const clients = [
        createClient(PendingMessageService, createConnectTransport({ baseUrl, httpVersion: '1.1', useBinaryFormat: true, interceptors: [signing('connect-proto')] })),
        createClient(PendingMessageService, createConnectTransport({ baseUrl, httpVersion: '1.1', useBinaryFormat: false, interceptors: [signing('connect-json')] })),
        createClient(PendingMessageService, createGrpcWebTransport({ baseUrl, httpVersion: '1.1', interceptors: [signing('grpc-web')] })),
      ];
      for (const [i, client] of clients.entries()) {
        expect(await client.passOnPendingMessage(request(`plugin-${i}`, 'spam'))).toMatchObject({ action: Action.DELETE, reason: 'spam' });
      }
      const unsigned = createClient(PendingMessageService, createGrpcWebTransport({ baseUrl, httpVersion: '1.1' }));
      await expect(unsigned.passOnPendingMessage(request('plugin-unsigned', 'x'))).rejects.toMatchObject({ code: Code.Unauthenticated });
    } finally {
      await host.close();
      await hooks.close();
    }
  });

  it('one function picks the transport: Connect answers only its procedure paths; other methods reach connect-es only once signed', async () => {
    const unknown = await fetch(`${s.url}/connect/pendingmessage.v1.PendingMessageService/Nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('not_found');
    const procedure = `${s.url}/connect/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`;
    const unsignedGet = await fetch(procedure);
    expect(unsignedGet.status).toBe(401);
    expect(await unsignedGet.json()).toEqual({ code: 'unauthenticated', message: 'unauthenticated' });
    const signedGet = await fetch(procedure, { headers: { 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, '') } });
    expect(signedGet.status).toBe(405); // connect-es: PassOnPendingMessage has side effects, so no GET
    const unsignedText = await fetch(procedure, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(unsignedText.status).toBe(401);
  });

  it('is off by default', async () => {
    const plain = await startHooksServer({}, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    try {
      expect(plain.hooks.connect).toBeUndefined();
      const response = await fetch(`${plain.url}/connect/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(response.status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('an authenticate option replaces the signature (e.g. a bearer token) and refuses without it', async () => {
    const withToken = await startHooksServer({ connect: { prefix: '/rpc', authenticate: (req) => req.headers.authorization === 'Bearer let-me-in' } }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => decide.keepPending('queued')),
    );
    try {
      const good = createClient(PendingMessageService, createConnectTransport({ baseUrl: `${withToken.url}/rpc`, httpVersion: '1.1', interceptors: [(next) => (req) => (req.header.set('authorization', 'Bearer let-me-in'), next(req))] }));
      expect(await good.passOnPendingMessage(request('t1', 'x'))).toMatchObject({ action: Action.KEEP_PENDING, reason: 'queued' });
      const bad = createClient(PendingMessageService, createConnectTransport({ baseUrl: `${withToken.url}/rpc`, httpVersion: '1.1' }));
      const error = await bad.passOnPendingMessage(request('t2', 'x')).catch((e: unknown) => ConnectError.from(e));
      expect((error as ConnectError).code).toBe(Code.Unauthenticated);
    } finally {
      await withToken.close();
    }
  });

  it('hostile input: missing id, too deep JSON, garbage protobuf → invalid_argument, never a crash', async () => {
    const connectUrl = `${s.url}/connect/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`;
    const post = (body: string | Uint8Array, type: string) =>
      fetch(connectUrl, { method: 'POST', headers: { 'content-type': type, 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, body) }, body });
    const noId = await post('{"message":{"text":"x"}}', 'application/json');
    expect(noId.status).toBe(400);
    expect(((await noId.json()) as { code: string }).code).toBe('invalid_argument');
    const deep = await post(`{"message":{"id":"d","custom":${'{"a":'.repeat(80)}1${'}'.repeat(80)}}}`, 'application/json');
    expect(deep.status).toBe(400);
    const garbage = await post(new Uint8Array([0xff, 0xff, 0xff, 0x01]), 'application/proto');
    expect(garbage.status).toBe(400);
  });
});

/** The value of one sample in Prometheus text (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('Connect and gRPC-Web take the pipeline\'s stages: shedding, refusals and metrics as REST and Twirp', () => {
  it('sheds over maxInFlight (unavailable, before the body is read), counts refusals, and counts answered calls by transport', async () => {
    const release: (() => void)[] = [];
    const hooksServer = await startHooksServer({ connect: {}, metrics: true, shedding: { maxInFlight: 1 } }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (e) => {
        if (e.message.text === 'hold') await new Promise<void>((resolve) => release.push(resolve));
        return decide.commit();
      }),
    );
    try {
      const base = `${hooksServer.url}/connect`;
      const proto = createClient(PendingMessageService, createConnectTransport({ baseUrl: base, httpVersion: '1.1', useBinaryFormat: true, interceptors: [signing('connect-proto')] }));
      const json = createClient(PendingMessageService, createConnectTransport({ baseUrl: base, httpVersion: '1.1', useBinaryFormat: false, interceptors: [signing('connect-json')] }));
      const grpcWeb = createClient(PendingMessageService, createGrpcWebTransport({ baseUrl: base, httpVersion: '1.1', interceptors: [signing('grpc-web')] }));
      const held = proto.passOnPendingMessage(request('shed-held', 'hold'));
      while (release.length < 1) await sleep(5);
      for (const client of [proto, json, grpcWeb]) {
        const error = await client.passOnPendingMessage(request('shed-me', 'x')).catch((e: unknown) => ConnectError.from(e));
        expect((error as ConnectError).code).toBe(Code.Unavailable);
      }
      release[0]!();
      expect(await held).toMatchObject({ action: Action.COMMIT });
      const unsigned = createClient(PendingMessageService, createConnectTransport({ baseUrl: base, httpVersion: '1.1' }));
      await expect(unsigned.passOnPendingMessage(request('no-sig', 'x'))).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect(await grpcWeb.passOnPendingMessage(request('grpc-web-ok', 'x'))).toMatchObject({ action: Action.COMMIT });

      const metrics = await (await fetch(`${hooksServer.url}/metrics`)).text();
      expect(sample(metrics, 'pending_hooks_callbacks_total', { transport: 'connect', method: 'PassOnPendingMessage', outcome: 'commit' })).toBe(2);
      expect(sample(metrics, 'pending_hooks_refused_total', { code: 'overloaded' })).toBe(3);
      expect(sample(metrics, 'pending_hooks_refused_total', { code: 'invalid_signature' })).toBe(1);
      expect(hooksServer.logs.filter((line) => line.msg === 'callback refused' && line.code === 'overloaded')).toHaveLength(3);
    } finally {
      await hooksServer.close();
    }
  });
});

/*
 * Connect unary calls are answered by the transport's fast path, not by connect-es. Every answer
 * is checked against what connect-es writes for the same result, computed with connect-es's own
 * serializers (the router's defaults) and error encoder, and against connect-es answering the
 * very same call: a `Connect-Protocol-Version` other than 1 is left to connect-es, which (without
 * `requireConnectProtocolHeader`) does not look at it.
 */
describe('Connect unary fast path: the same status, content type and bytes as connect-es', () => {
  const passOn = PendingMessageService.method.passOnPendingMessage;
  const deleted = PendingMessageService.method.deletedPendingMessage;
  const limits = validateReadWriteMaxBytes(undefined, undefined, undefined);

  interface Answer {
    status: number;
    contentType: string | null;
    body: string;
  }
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

  /** connect-es's success answer: its serializer for the method's output, with the router's options. */
  function ok<M extends DescMethodUnary>(method: M, binary: boolean, init: MessageInitShape<M['output']>): Answer {
    const body = createMethodSerializationLookup(method, undefined, undefined, limits).getO(binary).serialize(create(method.output, init));
    return { status: 200, contentType: binary ? 'application/proto' : 'application/json', body: hex(body) };
  }

  /** connect-es's error answer for a ConnectError. */
  function failed(code: Code, message: string): Answer {
    return { status: codeToHttpStatus(code), contentType: 'application/json', body: hex(errorToJsonBytes(new ConnectError(message, code), undefined)) };
  }

  let server: RunningServer;
  let mock: MockStreamApi;
  const events: PendingMessageEvent[] = [];
  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
    server = await startHooksServer(
      { connect: {}, api: { baseUrl: mock.url }, timeoutMs: 300, fallback: 'keep_pending', retry: { baseBackoffMs: 5, maxBackoffMs: 20 } },
      (hooks) => {
        hooks.on('PassOnPendingMessage', (e) => {
          events.push(e);
          if (e.message.text === 'slow') return sleep(1000).then(() => decide.commit());
          return e.message.text?.includes('spam') ? decide.delete('spam') : decide.commit();
        });
        hooks.on('DeletedPendingMessage', (e) => void events.push(e));
      },
    );
  });
  afterAll(async () => {
    await server.close();
    await mock.close();
  });

  let calls = 0;
  const body = (text: string, id = `fast-${++calls}`) =>
    create(PendingMessageRequestSchema, {
      message: { id, text, type: 'regular', user: { id: 'u', name: 'Ann' }, mentionedUsers: [{ id: 'v' }], parentId: 'p1' },
      metadata: { m: '1' },
      requestInfo: { type: 'client', sdk: 'stream-chat-js', userAgent: 'ua' },
    });
  const proto = (text: string) => toBinary(PendingMessageRequestSchema, body(text));

  interface CallOptions {
    method?: 'PassOnPendingMessage' | 'DeletedPendingMessage';
    contentType?: string;
    secret?: string;
    headers?: Record<string, string>;
    wire?: Uint8Array;
  }

  async function call(payload: string | Uint8Array, options: CallOptions, protocolVersion: string): Promise<Answer> {
    const { method = 'PassOnPendingMessage', contentType = 'application/proto' } = options;
    const response = await postSigned(`${server.url}/connect/pendingmessage.v1.PendingMessageService/${method}`, payload, {
      contentType,
      webhookId: `wh-${++calls}`,
      ...(options.secret !== undefined && { secret: options.secret }),
      ...(options.wire !== undefined && { wire: options.wire }),
      headers: { 'connect-protocol-version': protocolVersion, ...options.headers },
    });
    return { status: response.status, contentType: response.headers.get('content-type'), body: hex(new Uint8Array(await response.arrayBuffer())) };
  }

  /** Sends the call to the fast path and the same call to connect-es; both must answer `expected`. */
  async function expectBoth(payload: string | Uint8Array | (() => string | Uint8Array), options: CallOptions, expected: Answer): Promise<void> {
    const next = () => (typeof payload === 'function' ? payload() : payload);
    const [fast, reference] = await Promise.all([call(next(), options, '1'), call(next(), options, '0')]);
    expect(reference).toEqual(expected);
    expect(fast).toEqual(expected);
  }

  it('commit, delete with a reason, and an ack of DeletedPendingMessage', async () => {
    await expectBoth(() => proto('hello'), {}, ok(passOn, true, { action: Action.COMMIT }));
    await expectBoth(() => proto('spam!'), {}, ok(passOn, true, { action: Action.DELETE, reason: 'spam' }));
    await expectBoth(() => proto('bye'), { method: 'DeletedPendingMessage' }, ok(deleted, true, {}));
    const event = events.find((e) => e.method === 'DeletedPendingMessage' && e.message.text === 'bye');
    expect(event).toMatchObject({ transport: 'connect', message: { user: { id: 'u', name: 'Ann' }, mentioned_users: [{ id: 'v' }], parent_id: 'p1' }, metadata: { m: '1' }, requestInfo: { type: 'client', sdk: 'stream-chat-js', user_agent: 'ua' } });
  });

  it('the keep_pending fallback when the handler misses its deadline (timed_out)', async () => {
    const timedOut = { action: Action.KEEP_PENDING, reason: 'timeout', timedOut: true };
    await expectBoth(() => proto('slow'), {}, ok(passOn, true, timedOut));
    await expectBoth(() => toJsonString(PendingMessageRequestSchema, body('slow')), { contentType: 'application/json' }, ok(passOn, false, timedOut));
  });

  it('a decision Stream\'s API does not take → unavailable (503)', async () => {
    mock.injectFaults({ action: 'commit', status: 500, count: 1000 });
    try {
      await expectBoth(() => proto('hello'), {}, failed(Code.Unavailable, "the commit decision could not be applied through Stream's API in time; retry"));
    } finally {
      mock.reset();
    }
  });

  it('refusals: malformed protobuf, no message id, a bad signature', async () => {
    await expectBoth(new Uint8Array([0xff, 0xff, 0xff, 0x01]), {}, failed(Code.InvalidArgument, 'request body could not be decoded'));
    await expectBoth(toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: { text: 'x' } })), {}, failed(Code.InvalidArgument, 'message.id is required'));
    await expectBoth(() => proto('hello'), { secret: 'wrong' }, failed(Code.Unauthenticated, 'unauthenticated'));
  });

  it('JSON: lowerCamelCase and proto field names, with or without a charset; answered in canonical JSON', async () => {
    const camel = () => toJsonString(PendingMessageRequestSchema, body('hello json'));
    const protoNames = () => toJsonString(PendingMessageRequestSchema, body('spam json'), { useProtoFieldName: true });
    expect(protoNames()).toContain('"request_info"');
    expect(camel()).toContain('"requestInfo"');
    await expectBoth(camel, { contentType: 'application/json' }, ok(passOn, false, { action: Action.COMMIT }));
    await expectBoth(protoNames, { contentType: 'application/json; charset=utf-8' }, ok(passOn, false, { action: Action.DELETE, reason: 'spam' }));
    await expectBoth(() => toJsonString(PendingMessageRequestSchema, body('bye json')), { method: 'DeletedPendingMessage', contentType: 'application/json' }, ok(deleted, false, {}));
    // connect-es ignores unknown JSON fields; refusals are connect-es's own words.
    await expectBoth(() => JSON.stringify({ message: { id: `j-${++calls}`, text: 'hi', futureField: 1 }, futureTopLevel: [1] }), { contentType: 'application/json' }, ok(passOn, false, { action: Action.COMMIT }));
    const notJson = await call('{"message":', { contentType: 'application/json' }, '1');
    expect(notJson).toEqual(await call('{"message":', { contentType: 'application/json' }, '0'));
    expect(notJson.status).toBe(400);
    await expectBoth('{"message":{"text":"x"}}', { contentType: 'application/json' }, failed(Code.InvalidArgument, 'message.id is required'));
    // Invalid UTF-8: the compiled JSON decoder refuses it, connect-es's TextDecoder replaces it; connect-es's decoding decides.
    const invalidUtf8 = () => Buffer.concat([Buffer.from(`{"message":{"id":"u8-${++calls}","text":"a`), Buffer.from([0xff]), Buffer.from('"}}')]);
    await expectBoth(invalidUtf8, { contentType: 'application/json' }, ok(passOn, false, { action: Action.COMMIT }));
    // A lone surrogate in the id: refused in connect-es's words either way.
    const loneSurrogate = await call('{"message":{"id":"\\ud800"}}', { contentType: 'application/json' }, '1');
    expect(loneSurrogate).toEqual(await call('{"message":{"id":"\\ud800"}}', { contentType: 'application/json' }, '0'));
    expect(loneSurrogate.status).toBe(400);
  });

  it('a gzip body declared with Content-Encoding is inflated before the signature check and decoding', async () => {
    const payload = proto('hello gzip');
    await expectBoth(payload, { wire: gzipSync(payload), headers: { 'content-encoding': 'gzip' } }, ok(passOn, true, { action: Action.COMMIT }));
  });

  it('with an authenticate option too (a declared gzip body is inflated as with signatures)', async () => {
    const withToken = await startHooksServer({ connect: { authenticate: (req) => req.headers.authorization === 'Bearer let-me-in' } }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => decide.keepPending('queued')),
    );
    try {
      const url = `${withToken.url}/connect/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`;
      const send = async (version: string, token: string, gzip: boolean): Promise<Answer> => {
        const payload = proto('hello');
        const headers: Record<string, string> = { 'content-type': 'application/proto', 'connect-protocol-version': version, authorization: `Bearer ${token}` };
        if (gzip) headers['content-encoding'] = 'gzip';
        const response = await fetch(url, { method: 'POST', headers, body: gzip ? gzipSync(payload) : payload });
        return { status: response.status, contentType: response.headers.get('content-type'), body: hex(new Uint8Array(await response.arrayBuffer())) };
      };
      for (const gzip of [false, true]) {
        for (const version of ['1', '0']) {
          expect(await send(version, 'let-me-in', gzip)).toEqual(ok(passOn, true, { action: Action.KEEP_PENDING, reason: 'queued' }));
          expect(await send(version, 'nope', gzip)).toEqual(failed(Code.Unauthenticated, 'unauthenticated'));
        }
      }
    } finally {
      await withToken.close();
    }
  });

  it('connect-timeout-ms: a valid one changes nothing, a malformed one is refused as connect-es refuses it', async () => {
    await expectBoth(() => proto('hello'), { headers: { 'connect-timeout-ms': '5000' } }, ok(passOn, true, { action: Action.COMMIT }));
    await expectBoth(() => proto('hello'), { headers: { 'connect-timeout-ms': 'soon' } }, failed(Code.InvalidArgument, 'protocol error: invalid connect timeout value: soon'));
  });

  it('other content types still reach connect-es (a streaming type on a unary method: 415)', async () => {
    const answer = await call(proto('hello'), { contentType: 'application/connect+proto' }, '1');
    expect(answer.status).toBe(415);
  });

  it('answers synchronously when the handler and the dispatcher are synchronous (dry run), ack-first too', async () => {
    const logger = pino({ level: 'silent' });
    const path = '/connect/pendingmessage.v1.PendingMessageService/PassOnPendingMessage';
    const unary = (hooks: ReturnType<typeof createPendingHooks>, id: string) => {
      const bytes = toBinary(PendingMessageRequestSchema, body('spam', id));
      const headers = { 'content-type': 'application/proto', 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, bytes), 'x-webhook-id': id };
      return hooks.connect!.handle({ method: 'POST', path, headers, body: bytes, receivedAt: performance.now() });
    };
    const inline = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger, connect: {} });
    inline.on('PassOnPendingMessage', () => decide.delete('spam'));
    const answer = unary(inline, 'sync-1');
    expect(answer).not.toBeInstanceOf(Promise);
    const { status, headers, body: bytes } = answer as Awaited<typeof answer>;
    expect({ status, contentType: headers['content-type'], body: hex(bytes as Uint8Array) }).toEqual(ok(passOn, true, { action: Action.DELETE, reason: 'spam' }));
    expect(headers['content-length']).toBe(String((bytes as Uint8Array).byteLength));

    const ackFirst = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger, connect: {}, answer: 'ack-first' });
    ackFirst.on('PassOnPendingMessage', () => decide.commit());
    const ack = await unary(ackFirst, 'ack-1');
    expect({ status: ack.status, contentType: ack.headers['content-type'], body: hex(ack.body as Uint8Array) }).toEqual(ok(passOn, true, { accepted: true }));
    await Promise.all([inline.close(), ackFirst.close()]);
  });
});
