import { RpcError } from '@protobuf-ts/runtime-rpc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HookError } from '../../src/core/hook-error.js';
import type { NeutralResponse } from '../../src/core/neutral.js';
import type { DecodedPayload } from '../../src/event/pending-message-event.js';
import { createTwirpFamily, twirpRoutePath } from '../../src/transports/twirp/index.js';
import { Action, PendingMessageRequest, Struct, createTwirpTestClient } from './client.js';

/*
 * No server yet: a stubbed `fetch` captures what the protobuf-ts client sends, hands the bytes
 * to our codec and answers with our encoder. This checks that an independent implementation
 * and ours agree on the wire, in both encodings.
 */

interface Captured {
  url: string;
  method: string;
  contentType: string | null;
  body: Uint8Array;
}

function stubFetch(answer: (captured: Captured) => NeutralResponse): Captured[] {
  const calls: Captured[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const raw = init.body;
    const body = typeof raw === 'string' ? new TextEncoder().encode(raw) : new Uint8Array(raw as Uint8Array);
    const captured: Captured = {
      url,
      method: init.method ?? 'GET',
      contentType: new Headers(init.headers).get('content-type'),
      body,
    };
    calls.push(captured);
    const response = answer(captured);
    return new Response(response.body as ConstructorParameters<typeof Response>[0], { status: response.status, headers: response.headers });
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const family = createTwirpFamily();
const limits = { maxJsonDepth: 64 };

const request = PendingMessageRequest.create({
  message: {
    id: 'msg-1',
    text: 'hello',
    showInChannel: false,
    user: { id: 'alice', name: 'Alice', custom: Struct.fromJson({ vip: true }) },
    attachments: [{ type: 'image', imageUrl: 'https://example.com/a.png' }],
    createdAt: '2024-05-01T12:00:00Z',
    custom: Struct.fromJson({ priority: 3, tags: ['a', 'b'] }),
  },
  metadata: { source: 'test' },
  requestInfo: { type: 'client', userAgent: 'vitest' },
});

const expectedPayload: DecodedPayload = {
  message: {
    id: 'msg-1',
    text: 'hello',
    show_in_channel: false,
    user: { id: 'alice', name: 'Alice', vip: true },
    attachments: [{ type: 'image', image_url: 'https://example.com/a.png' }],
    created_at: '2024-05-01T12:00:00Z',
    priority: 3,
    tags: ['a', 'b'],
  },
  metadata: { source: 'test' },
  requestInfo: { type: 'client', user_agent: 'vitest' },
};

for (const json of [false, true]) {
  const encoding = json ? 'json' : 'protobuf';

  describe(`protobuf-ts Twirp client (${encoding})`, () => {
    it('encodes a PassOnPendingMessage request our codec decodes, and reads our answer', async () => {
      const decoded: (DecodedPayload | HookError)[] = [];
      const calls = stubFetch((captured) => {
        const codec = family.codecFor(captured.contentType ?? undefined)!;
        decoded.push(codec.decode(captured.body, limits));
        return codec.encodePassOn({ action: 'delete', reason: 'spam', timedOut: false });
      });
      const client = createTwirpTestClient('http://hooks.test/twirp', { json });

      const { response } = await client.passOnPendingMessage(request);

      expect(calls).toHaveLength(1);
      expect(calls[0]!.method).toBe('POST');
      expect(calls[0]!.url).toBe(`http://hooks.test${twirpRoutePath('/twirp', 'PassOnPendingMessage')}`);
      expect(calls[0]!.contentType).toBe(json ? 'application/json' : 'application/protobuf');
      expect(decoded[0]).toEqual(expectedPayload);
      expect(response).toEqual({ action: Action.DELETE, reason: 'spam', timedOut: false, accepted: false });
    });

    it('reads the ack-first and deleted answers', async () => {
      stubFetch((captured) => {
        const codec = family.codecFor(captured.contentType ?? undefined)!;
        return captured.url.endsWith('/DeletedPendingMessage') ? codec.encodeDeleted() : codec.encodeAccepted();
      });
      const client = createTwirpTestClient('http://hooks.test', { json });

      const accepted = await client.passOnPendingMessage(request).response;
      expect(accepted).toEqual({ action: Action.UNSPECIFIED, reason: '', timedOut: false, accepted: true });
      const deleted = await client.deletedPendingMessage(request).response;
      expect(deleted).toEqual({});
    });

    it('surfaces our Twirp errors as RpcError with the Twirp code', async () => {
      stubFetch(() => family.encodeError(new HookError('invalid_signature', 'signature mismatch')));
      const client = createTwirpTestClient('http://hooks.test/twirp', { json });

      const error = await client.passOnPendingMessage(request).response.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RpcError);
      expect((error as RpcError).code).toBe('unauthenticated');
      expect((error as RpcError).message).toBe('signature mismatch');
      expect((error as RpcError).meta).toMatchObject({ hook_error: 'invalid_signature' });
    });
  });
}
