import { create, toBinary, toJsonString, type MessageShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Action, PendingMessageRequestSchema, PendingMessageService } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { decide, type PendingMessageEvent } from '../src/index.js';
import { appKey, appSecret, sleep, startHooksServer, type RunningServer } from './support/servers.js';
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
