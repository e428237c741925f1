import { create, toBinary } from '@bufbuild/protobuf';
import { isWellFormed } from '../../src/event/message-id.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../../src/emulator/index.js';
import { decide, type PendingMessageEvent } from '../../src/index.js';
import { PendingMessageRequestSchema } from '../../src/gen/pendingmessage/v1/pending_message_pb.js';
import { messagePathSegment } from '../../src/stream-api/stream-api-client.js';
import { appKey, appSecret, pendingBody, postSigned, startHooksServer, type RunningServer } from '../support/servers.js';

const twirpBase = '/twirp/pendingmessage.v1.PendingMessageService';

let mock: MockStreamApi;
let server: RunningServer;
const seen: PendingMessageEvent[] = [];

beforeAll(async () => {
  mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
  server = await startHooksServer({ api: { baseUrl: mock.url }, retry: { baseBackoffMs: 5, maxBackoffMs: 20 } }, (hooks) =>
    hooks.on('PassOnPendingMessage', (event) => {
      seen.push(event);
      return decide.commit();
    }),
  );
});
afterAll(async () => {
  await server.close();
  await mock.close();
});
afterEach(() => {
  seen.length = 0;
  mock.reset();
});

/** The same callback three ways: REST JSON, Twirp JSON, Twirp protobuf (when the id can be encoded). */
async function sendAllWays(message: Record<string, unknown>) {
  const json = pendingBody(message);
  const rest = await postSigned(`${server.url}/PassOnPendingMessage`, json);
  const twirpJson = await postSigned(`${server.url}${twirpBase}/PassOnPendingMessage`, json);
  const answers = [
    { via: 'rest', status: rest.status, body: (await rest.json()) as Record<string, unknown> },
    { via: 'twirp-json', status: twirpJson.status, body: (await twirpJson.json()) as Record<string, unknown> },
  ];
  const id = message.id as string;
  // Protobuf strings are UTF-8: a lone surrogate has no encoding, so that case is JSON-only.
  if (isWellFormed(id)) {
    const bytes = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: { id, text: 'x' } }));
    const twirpProto = await postSigned(`${server.url}${twirpBase}/PassOnPendingMessage`, bytes, { contentType: 'application/protobuf' });
    // Errors are JSON in Twirp; a protobuf answer is bytes.
    const isJson = twirpProto.headers.get('content-type')?.includes('json');
    answers.push({ via: 'twirp-protobuf', status: twirpProto.status, body: isJson ? ((await twirpProto.json()) as Record<string, unknown>) : {} });
  }
  return answers;
}

describe('message ids that cannot be Stream ids are refused before any handler', () => {
  for (const [what, id] of [
    ['"."', '.'],
    ['".."', '..'],
    ['a NUL', 'abc\u0000def'],
    ['a newline', 'abc\ndef'],
    ['a C1 control', 'abc\u0085def'],
    ['a lone surrogate', 'abc\ud800def'],
    ['256 characters', 'x'.repeat(256)],
    ['15 KB', 'y'.repeat(15_000)],
  ] as const) {
    it(`${what}: REST 400 invalid_payload, Twirp invalid_argument, no handler, no API call`, async () => {
      for (const answer of await sendAllWays({ id })) {
        expect(answer.status, answer.via).toBe(400);
        expect(answer.body, answer.via).toMatchObject(answer.via === 'rest' ? { error: 'invalid_payload' } : { code: 'invalid_argument' });
      }
      expect(seen).toHaveLength(0);
      expect(mock.calls).toHaveLength(0);
    });
  }

  it('accepts ids of 255 characters, dots inside, and any Unicode', async () => {
    for (const id of ['z'.repeat(255), 'a.b..c', '.hidden', 'ünïcødé-💬', 'with space', 'slash/inside', '%2E%2E']) {
      mock.addPendingMessage({ id });
      const answers = await sendAllWays({ id });
      for (const answer of answers) expect(answer.status, `${answer.via} ${id}`).toBe(200);
      // The commit went to /messages/{id}/commit with the id as one segment.
      expect(mock.stateOf(id), id).toBe('committed');
    }
  });

  it('encodes an id as one path segment (dots included)', () => {
    expect(messagePathSegment('..')).toBe('%2E%2E');
    expect(messagePathSegment('.')).toBe('%2E');
    expect(messagePathSegment('a/b?c#d')).toBe('a%2Fb%3Fc%23d');
    expect(messagePathSegment('\ud800')).toBeUndefined();
  });

  it('leaves an id as it is exactly when encodeURIComponent would (every ASCII character, and beyond)', () => {
    for (let code = 0; code < 0x100; code++) {
      const id = `msg-${String.fromCharCode(code)}-1`;
      expect(messagePathSegment(id), `code ${code}`).toBe(encodeURIComponent(id));
    }
    expect(messagePathSegment('5f0c5b42-9d3e-4a52-b0c7-1e2f3a4b5c6d')).toBe('5f0c5b42-9d3e-4a52-b0c7-1e2f3a4b5c6d');
    expect(messagePathSegment('été/π')).toBe(encodeURIComponent('été/π'));
  });
});

describe('a decision Stream refuses for good is answered, not 503', () => {
  it('a 4xx other than 404/409/429 answers the decision, is remembered, and is not retried', async () => {
    const id = `refused-${Date.now()}`;
    mock.addPendingMessage({ id });
    mock.injectFaults({ action: 'commit', status: 403, count: 1 });
    const body = pendingBody({ id });
    const first = await postSigned(`${server.url}/PassOnPendingMessage`, body, { webhookId: `wh-${id}` });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ action: 'commit', timed_out: false });
    expect(mock.calls.filter((call) => call.messageId === id)).toHaveLength(1);
    const line = server.logs.find((entry) => entry.messageId === id && entry.applied === 'rejected');
    expect(line).toMatchObject({ level: 50, action: 'commit', apiCalls: 1, detail: expect.stringContaining('403') });
    // Stream's retry (same webhook id) is answered from memory: no handler, no API call.
    const retry = await postSigned(`${server.url}/PassOnPendingMessage`, body, { webhookId: `wh-${id}`, attempt: 2 });
    expect(retry.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(mock.calls.filter((call) => call.messageId === id)).toHaveLength(1);
  });

  it('a 409 is retried within the budget like a 5xx', async () => {
    const id = `conflict-${Date.now()}`;
    mock.addPendingMessage({ id });
    mock.injectFaults({ action: 'commit', status: 409, count: 1 });
    const answer = await postSigned(`${server.url}/PassOnPendingMessage`, pendingBody({ id }));
    expect(answer.status).toBe(200);
    expect(mock.calls.filter((call) => call.messageId === id).map((call) => call.status)).toEqual([409, 201]);
    expect(mock.stateOf(id)).toBe('committed');
  });
});

describe('REST and Twirp JSON accept the same texts', () => {
  const restUrl = () => `${server.url}/PassOnPendingMessage`;
  const twirpUrl = () => `${server.url}${twirpBase}/PassOnPendingMessage`;

  it('invalid UTF-8 is refused by both (malformed_json / malformed)', async () => {
    const text = Buffer.from(pendingBody({ text: 'AAAA' }));
    const broken = Buffer.from(text.toString().replace('AAAA', 'A\u0000AA'));
    broken[broken.indexOf(0)] = 0xff;
    const rest = await postSigned(restUrl(), broken);
    const twirp = await postSigned(twirpUrl(), broken);
    expect([rest.status, await rest.json()]).toEqual([400, { error: 'malformed_json', message: expect.stringMatching(/UTF-8/) }]);
    expect(twirp.status).toBe(400);
    expect(await twirp.json()).toMatchObject({ code: 'malformed' });
    expect(seen).toHaveLength(0);
  });

  it('a byte order mark is refused by both', async () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(pendingBody())]);
    const rest = await postSigned(restUrl(), withBom);
    const twirp = await postSigned(twirpUrl(), withBom);
    expect(rest.status).toBe(400);
    expect(await rest.json()).toMatchObject({ error: 'malformed_json' });
    expect(twirp.status).toBe(400);
    expect(await twirp.json()).toMatchObject({ code: 'malformed' });
    expect(seen).toHaveLength(0);
  });

  it('__proto__ keys never reach the handler (spelled out or escaped), in either transport', async () => {
    // The same message in each transport's JSON: Stream's (custom fields at the top level) and
    // protobuf JSON (custom fields in `custom`).
    const cases = [
      [
        '{"message":{"id":"p1","text":"t","__proto__":{"polluted":true},"custom_field":{"__proto__":{"polluted":true},"kept":1}},"metadata":{"__proto__":"x","k":"v"}}',
        '{"message":{"id":"p1","text":"t","custom":{"__proto__":{"polluted":true},"custom_field":{"__proto__":{"polluted":true},"kept":1}}},"metadata":{"__proto__":"x","k":"v"}}',
      ],
      [
        '{"message":{"id":"p2","text":"t","\\u005f_proto__":{"polluted":true},"custom_field":{"__pro\\u0074o__":{"polluted":true},"kept":1}},"metadata":{"k":"v"}}',
        '{"message":{"id":"p2","text":"t","custom":{"\\u005f_proto__":{"polluted":true},"custom_field":{"__pro\\u0074o__":{"polluted":true},"kept":1}}},"metadata":{"k":"v"}}',
      ],
    ];
    for (const [rest, twirp] of cases) {
      expect((await postSigned(restUrl(), rest!)).status, rest).toBe(200);
      expect((await postSigned(twirpUrl(), twirp!)).status, twirp).toBe(200);
    }
    expect(seen).toHaveLength(4);
    for (const event of seen) {
      const message = event.message as Record<string, unknown>;
      expect(Object.hasOwn(message, '__proto__')).toBe(false);
      expect(Object.getPrototypeOf(message)).toBe(Object.prototype);
      const custom = message.custom_field as Record<string, unknown>;
      expect(Object.hasOwn(custom, '__proto__')).toBe(false);
      expect(custom.kept).toBe(1);
      expect(Object.hasOwn(event.metadata, '__proto__')).toBe(false);
      // A handler that merges the message into a fresh object gets no foreign prototype.
      const merged = Object.assign({}, message, custom);
      expect((merged as { polluted?: boolean }).polluted).toBeUndefined();
    }
    const view = (event: PendingMessageEvent) => JSON.stringify({ id: event.message.id, text: event.message.text, custom_field: event.message.custom_field, metadata: event.metadata });
    expect(view(seen[0]!)).toBe(view(seen[1]!));
    expect(view(seen[2]!)).toBe(view(seen[3]!));
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('a constructor key is kept as plain data by both', async () => {
    expect((await postSigned(restUrl(), '{"message":{"id":"c1","text":"t","constructor":{"name":"x"}}}')).status).toBe(200);
    expect((await postSigned(twirpUrl(), '{"message":{"id":"c1","text":"t","custom":{"constructor":{"name":"x"}}}}')).status).toBe(200);
    const [rest, twirp] = seen.map((event) => event.message as Record<string, unknown>);
    expect(rest!.constructor).toEqual({ name: 'x' });
    expect(twirp!.constructor).toEqual({ name: 'x' });
  });
});
