import { create, equals, fromBinary, fromJsonString, toBinary, toJsonString } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { HookError, hookErrorCodes, type HookErrorCode } from '../src/core/hook-error.js';
import type { NeutralResponse } from '../src/core/neutral.js';
import type { DecisionAction, Outcome } from '../src/decision/decision.js';
import { pendingMessageBodySchema } from '../src/event/message-schema.js';
import type { DecodedPayload } from '../src/event/pending-message-event.js';
import {
  Action,
  DeletedPendingMessageResponseSchema,
  PendingMessageRequestSchema,
  PendingMessageResponseSchema,
} from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import type { DecodeLimits, WireCodec } from '../src/transports/codec.js';
import {
  actionFromProto,
  createTwirpFamily,
  parseTwirpContentType,
  passOnAnswerFromProto,
  pendingMessageRequestFromBody,
  twirpCodeToHttpStatus,
  twirpRoutePath,
  twirpServiceName,
} from '../src/transports/twirp/index.js';

const family = createTwirpFamily();
const protobufCodec = family.codecFor('application/protobuf')!;
const jsonCodec = family.codecFor('application/json')!;
const limits: DecodeLimits = { maxJsonDepth: 64 };
const utf8 = new TextEncoder();

// --- wire helpers, written from the protobuf encoding spec (independent of the codec) ---

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const tag = (field: number, wireType: number): number[] => varint((field << 3) | wireType);
const bytes = (...parts: (number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((part) => Array.from(part)));
const lengthDelimited = (field: number, payload: Uint8Array | string): Uint8Array => {
  const data = typeof payload === 'string' ? utf8.encode(payload) : payload;
  return bytes(tag(field, 2), varint(data.length), data);
};

function expectError(result: DecodedPayload | HookError, code: HookErrorCode): HookError {
  expect(result).toBeInstanceOf(HookError);
  expect((result as HookError).code).toBe(code);
  return result as HookError;
}
function expectPayload(result: DecodedPayload | HookError): DecodedPayload {
  if (result instanceof HookError) throw new Error(`unexpected ${result.code}: ${result.message} (${result.detail})`);
  return result;
}
function bodyText(response: NeutralResponse): string {
  return typeof response.body === 'string' ? response.body : new TextDecoder().decode(response.body);
}
function bodyBytes(response: NeutralResponse): Uint8Array {
  return typeof response.body === 'string' ? utf8.encode(response.body) : response.body;
}

// --- fixtures: REST bodies as Stream sends them (no `null`s, no empty arrays: see below) ---

const fullRestBody = `{
  "message": {
    "id": "msg-1",
    "text": "hello @bob",
    "html": "<p>hello @bob</p>\\n",
    "type": "reply",
    "cid": "messaging:general",
    "parent_id": "msg-0",
    "show_in_channel": false,
    "user": { "id": "alice", "name": "Alice", "role": "user", "image": "https://example.com/a.png",
              "banned": false, "teams": ["red", "blue"] },
    "attachments": [
      { "type": "image", "title": "cat", "text": "a cat", "image_url": "https://example.com/cat.png",
        "asset_url": "https://example.com/cat.bin", "thumb_url": "https://example.com/cat-t.png",
        "og_scrape_url": "https://example.com/cats", "fallback": "cat.png", "original_width": 640 },
      { "type": "file" }
    ],
    "mentioned_users": [{ "id": "bob", "name": "Bob", "role": "admin", "online": true }],
    "created_at": "2024-05-01T12:00:00.123456Z",
    "updated_at": "2024-05-01T12:00:01.5Z",
    "silent": true,
    "quoted_message_id": "msg-q",
    "priority": 3,
    "pinned": false,
    "empty_obj": {},
    "moderation": { "labels": ["ok"], "score": 0.25, "nested": { "deep": [1, { "x": null }, "s"] } }
  },
  "metadata": { "source": "mobile", "trace": "abc" },
  "request_info": { "type": "client", "ip": "203.0.113.7", "user_agent": "Mozilla/5.0",
                    "sdk": "stream-chat-js", "ext": "v9" }
}`;
const minimalRestBody = '{"message":{"id":"m-min"}}';

/** What the REST transport gives the handler for the same JSON. */
function restPayload(text: string): DecodedPayload {
  const body = pendingMessageBodySchema.parse(JSON.parse(text));
  return { message: body.message, metadata: body.metadata ?? {}, requestInfo: body.request_info ?? {} };
}
function protoRequestOf(text: string) {
  return pendingMessageRequestFromBody(pendingMessageBodySchema.parse(JSON.parse(text)));
}

describe('Twirp codec: round trips give the REST payload', () => {
  for (const [name, text] of [
    ['full message', fullRestBody],
    ['minimal message', minimalRestBody],
  ] as const) {
    it(`${name}: protobuf`, () => {
      const wire = toBinary(PendingMessageRequestSchema, protoRequestOf(text));
      expect(expectPayload(protobufCodec.decode(wire, limits))).toEqual(restPayload(text));
    });

    it(`${name}: JSON with proto field names`, () => {
      const wire = toJsonString(PendingMessageRequestSchema, protoRequestOf(text), { useProtoFieldName: true });
      expect(expectPayload(jsonCodec.decode(utf8.encode(wire), limits))).toEqual(restPayload(text));
    });

    it(`${name}: JSON with lowerCamelCase names`, () => {
      const wire = toJsonString(PendingMessageRequestSchema, protoRequestOf(text));
      expect(expectPayload(jsonCodec.decode(utf8.encode(wire), limits))).toEqual(restPayload(text));
    });
  }

  it('the REST → protobuf conversion equals a hand-built request', () => {
    const expected = create(PendingMessageRequestSchema, {
      message: {
        id: 'm1',
        text: 'hi',
        showInChannel: true,
        user: { id: 'u1', name: 'U', custom: { vip: true } },
        attachments: [{ type: 'image', imageUrl: 'https://x/y.png', custom: { w: 10 } }],
        custom: { score: 0.5, tags: ['a'] },
      },
      metadata: { k: 'v' },
      requestInfo: { type: 'server', userAgent: 'go' },
    });
    const converted = pendingMessageRequestFromBody({
      message: {
        id: 'm1',
        text: 'hi',
        show_in_channel: true,
        user: { id: 'u1', name: 'U', vip: true },
        attachments: [{ type: 'image', image_url: 'https://x/y.png', w: 10 }],
        score: 0.5,
        tags: ['a'],
      },
      metadata: { k: 'v' },
      request_info: { type: 'server', user_agent: 'go' },
    });
    expect(equals(PendingMessageRequestSchema, converted, expected)).toBe(true);
  });

  it('hand-written lowerCamelCase JSON is accepted, mixed with proto names', () => {
    const text = JSON.stringify({
      message: {
        id: 'm1',
        parentId: 'p1',
        show_in_channel: true,
        quotedMessageId: 'q1',
        mentionedUsers: [{ id: 'bob' }],
        attachments: [{ ogScrapeUrl: 'https://x', thumb_url: 'https://t' }],
        createdAt: '2024-01-01T00:00:00Z',
        custom: { flag: 'on' },
      },
      requestInfo: { userAgent: 'ua', sdk: 'stream-chat-go' },
      metadata: { a: 'b' },
    });
    expect(expectPayload(jsonCodec.decode(utf8.encode(text), limits))).toEqual({
      message: {
        id: 'm1',
        parent_id: 'p1',
        show_in_channel: true,
        quoted_message_id: 'q1',
        mentioned_users: [{ id: 'bob' }],
        attachments: [{ og_scrape_url: 'https://x', thumb_url: 'https://t' }],
        created_at: '2024-01-01T00:00:00Z',
        flag: 'on',
      },
      metadata: { a: 'b' },
      requestInfo: { user_agent: 'ua', sdk: 'stream-chat-go' },
    });
  });

  it('presence survives: false / empty-string optionals are kept, unset ones omitted', () => {
    const request = create(PendingMessageRequestSchema, {
      message: { id: 'm', text: '', silent: false, showInChannel: false, user: { id: '' } },
      requestInfo: { ext: '' },
    });
    const expected = {
      message: { id: 'm', text: '', silent: false, show_in_channel: false, user: { id: '' } },
      metadata: {},
      requestInfo: { ext: '' },
    };
    expect(expectPayload(protobufCodec.decode(toBinary(PendingMessageRequestSchema, request), limits))).toEqual(
      expected,
    );
    const json = toJsonString(PendingMessageRequestSchema, request);
    expect(expectPayload(jsonCodec.decode(utf8.encode(json), limits))).toEqual(expected);
  });

  it('normalises what protobuf cannot carry: REST nulls and empty arrays are omitted', () => {
    const text = JSON.stringify({
      message: { id: 'm', text: null, attachments: [], mentioned_users: [], user: { id: 'u', name: null }, extra: null },
      request_info: null,
    });
    const wire = toBinary(PendingMessageRequestSchema, protoRequestOf(text));
    expect(expectPayload(protobufCodec.decode(wire, limits))).toEqual({
      // A custom `null` is a JSON value and survives; a typed field's `null` means unset.
      message: { id: 'm', user: { id: 'u' }, extra: null },
      metadata: {},
      requestInfo: {},
    });
  });

  it('custom keys that name a typed field are dropped, never overwrite it', () => {
    const request = create(PendingMessageRequestSchema, {
      message: {
        id: 'real',
        user: { id: 'u', custom: { id: 'fake', role: 42, mood: 'ok' } },
        attachments: [{ custom: { image_url: 7, kind: 'x' } }],
        custom: { id: 'fake', text: 5, user: 'x', other: 1 },
      },
    });
    const payload = expectPayload(protobufCodec.decode(toBinary(PendingMessageRequestSchema, request), limits));
    expect(payload.message).toEqual({ id: 'real', user: { id: 'u', mood: 'ok' }, attachments: [{ kind: 'x' }], other: 1 });
  });

  it('decodes a body that is a view into a larger buffer', () => {
    const wire = toBinary(PendingMessageRequestSchema, protoRequestOf(minimalRestBody));
    const big = new Uint8Array(wire.length + 20).fill(0xff);
    big.set(wire, 10);
    expect(expectPayload(protobufCodec.decode(big.subarray(10, 10 + wire.length), limits))).toEqual(
      restPayload(minimalRestBody),
    );
    const json = utf8.encode(`xx${minimalRestBody}yy`);
    expect(expectPayload(jsonCodec.decode(json.subarray(2, json.length - 2), limits))).toEqual(
      restPayload(minimalRestBody),
    );
  });
});

describe('Twirp codec: unknown fields are ignored', () => {
  it('JSON: unknown fields at every level, including unknown enum-like strings', () => {
    const text = JSON.stringify({
      message: {
        id: 'm',
        text: 't',
        not_a_field: { deep: [1, 2] },
        user: { id: 'u', favourite_action: 'ACTION_FUTURE' },
        attachments: [{ type: 'image', unknown_attachment_field: true }],
      },
      request_info: { type: 'client', brand_new: 1 },
      action: 'ACTION_FUTURE',
      top_level_unknown: null,
    });
    expect(expectPayload(jsonCodec.decode(utf8.encode(text), limits))).toEqual({
      message: { id: 'm', text: 't', user: { id: 'u' }, attachments: [{ type: 'image' }] },
      metadata: {},
      requestInfo: { type: 'client' },
    });
  });

  it('binary: unknown varint, fixed, length-delimited and group fields at two levels', () => {
    const unknownFields = bytes(
      tag(99, 0), varint(12345),
      tag(98, 1), [1, 2, 3, 4, 5, 6, 7, 8],
      lengthDelimited(97, 'junk'),
      tag(96, 3), tag(1, 0), [1], tag(96, 4), // a group holding a varint
      tag(95, 5), [1, 2, 3, 4],
    );
    const message = bytes(lengthDelimited(1, 'm'), unknownFields, lengthDelimited(2, 'hello'));
    const wire = bytes(lengthDelimited(1, message), unknownFields, lengthDelimited(2, bytes(lengthDelimited(1, 'k'), lengthDelimited(2, 'v'))));
    expect(expectPayload(protobufCodec.decode(wire, limits))).toEqual({
      message: { id: 'm', text: 'hello' },
      metadata: { k: 'v' },
      requestInfo: {},
    });
  });
});

describe('Twirp codec: malformed protobuf is an error value, never a throw', () => {
  const valid = toBinary(PendingMessageRequestSchema, protoRequestOf(fullRestBody));

  it('truncated in the middle of a field', () => {
    const error = expectError(protobufCodec.decode(valid.subarray(0, valid.length - 5), limits), 'malformed_protobuf');
    expect(error.message).toContain('pendingmessage.v1.PendingMessageRequest');
  });

  it('every prefix decodes to a payload or a malformed/invalid error', () => {
    for (let end = 0; end <= valid.length; end++) {
      const result = protobufCodec.decode(valid.subarray(0, end), limits);
      if (result instanceof HookError) expect(['malformed_protobuf', 'invalid_payload']).toContain(result.code);
    }
  });

  it('garbage: bad wire types, overlong varints, lengths past the end', () => {
    expectError(protobufCodec.decode(Uint8Array.of(0xff, 0xff, 0xff), limits), 'malformed_protobuf');
    expectError(protobufCodec.decode(bytes(tag(1, 7)), limits), 'malformed_protobuf'); // wire type 7
    expectError(protobufCodec.decode(bytes(tag(1, 2), varint(1_000_000), [1]), limits), 'malformed_protobuf');
    expectError(protobufCodec.decode(new Uint8Array(11).fill(0xff), limits), 'malformed_protobuf');
    expectError(protobufCodec.decode(bytes(tag(1, 4)), limits), 'malformed_protobuf'); // stray end-group
    // message.id holding invalid UTF-8
    expectError(
      protobufCodec.decode(lengthDelimited(1, lengthDelimited(1, Uint8Array.of(0xc3, 0x28))), limits),
      'malformed_protobuf',
    );
  });

  it('random bytes never throw', () => {
    let seed = 0x2545f491;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 2000; i++) {
      const junk = Uint8Array.from({ length: next() % 96 }, () => next() & 0xff);
      const result = protobufCodec.decode(junk, limits);
      if (result instanceof HookError) expect(['malformed_protobuf', 'invalid_payload']).toContain(result.code);
    }
  });

  /** message.custom = {"deep": [[[ … null … ]]]} nested `levels` lists deep, encoded by hand. */
  function nestedListRequest(levels: number): Uint8Array {
    let value = bytes(tag(1, 0), [0]); // Value{null_value}
    for (let i = 0; i < levels; i++) value = lengthDelimited(6, lengthDelimited(1, value)); // Value{list_value{values}}
    const struct = lengthDelimited(1, bytes(lengthDelimited(1, 'deep'), lengthDelimited(2, value)));
    return lengthDelimited(1, bytes(lengthDelimited(1, 'm'), lengthDelimited(15, struct)));
  }

  it('Struct nesting within the recursion limit decodes', () => {
    const payload = expectPayload(protobufCodec.decode(nestedListRequest(20), limits));
    let deep: unknown = payload.message.deep;
    for (let i = 0; i < 20; i++) {
      expect(Array.isArray(deep)).toBe(true);
      deep = (deep as unknown[])[0];
    }
    expect(deep).toBeNull();
  });

  it('Struct nesting past the recursion limit is malformed', () => {
    expectError(protobufCodec.decode(nestedListRequest(60), limits), 'malformed_protobuf');
    expectError(protobufCodec.decode(nestedListRequest(500), limits), 'malformed_protobuf');
  });

  it('unknown groups nested 100k deep are malformed (no stack overflow)', () => {
    const open = tag(99, 3);
    const wire = new Uint8Array(open.length * 100_000);
    for (let i = 0; i < wire.length; i += open.length) wire.set(open, i);
    expectError(protobufCodec.decode(wire, limits), 'malformed_protobuf');
  });
});

describe('Twirp codec: malformed JSON', () => {
  it('empty and whitespace bodies', () => {
    expectError(jsonCodec.decode(new Uint8Array(0), limits), 'malformed_json');
    expectError(jsonCodec.decode(utf8.encode(' \n'), limits), 'malformed_json');
  });

  it('syntax errors and invalid UTF-8', () => {
    expectError(jsonCodec.decode(utf8.encode('{"message":'), limits), 'malformed_json');
    expectError(jsonCodec.decode(utf8.encode("{'message':{}}"), limits), 'malformed_json');
    const invalidUtf8 = bytes(utf8.encode('{"message":{"id":"'), [0xc3, 0x28], utf8.encode('"}}'));
    expectError(jsonCodec.decode(invalidUtf8, limits), 'malformed_json');
  });

  it('nesting deeper than limits.maxJsonDepth, checked before parsing', () => {
    // outer object 1, message 2, custom 3, then the arrays
    const body = (arrays: number) =>
      utf8.encode(`{"message":{"id":"m","custom":{"a":${'['.repeat(arrays)}1${']'.repeat(arrays)}}}}`);
    expectPayload(jsonCodec.decode(body(2), { maxJsonDepth: 5 }));
    const error = expectError(jsonCodec.decode(body(3), { maxJsonDepth: 5 }), 'malformed_json');
    expect(error.message).toContain('5');
    expectError(jsonCodec.decode(body(100), limits), 'malformed_json');
    expectError(jsonCodec.decode(body(1_000_000), limits), 'malformed_json');
  });

  it('nesting under a generous JSON limit but past the decoder recursion limit is malformed', () => {
    const levels = 500;
    const text = `{"message":{"id":"m","custom":{"a":${'{"b":'.repeat(levels)}1${'}'.repeat(levels)}}}}`;
    expectError(jsonCodec.decode(utf8.encode(text), { maxJsonDepth: 10_000 }), 'malformed_json');
  });

  it('wrong-type fields', () => {
    for (const message of [
      '{"id":5}',
      '{"id":"m","text":5}',
      '{"id":"m","silent":"true"}',
      '{"id":"m","attachments":{}}',
      '{"id":"m","user":"alice"}',
      '{"id":"m","custom":[1]}',
      '{"id":"m","mentioned_users":[5]}',
    ]) {
      expectError(jsonCodec.decode(utf8.encode(`{"message":${message}}`), limits), 'malformed_json');
    }
    expectError(jsonCodec.decode(utf8.encode('{"message":{"id":"m"},"metadata":{"k":1}}'), limits), 'malformed_json');
    expectError(jsonCodec.decode(utf8.encode('{"message":"m"}'), limits), 'malformed_json');
  });

  it('valid JSON that is not an object is an invalid payload', () => {
    for (const text of ['[]', '"x"', '1', 'null', 'true']) {
      expectError(jsonCodec.decode(utf8.encode(text), limits), 'invalid_payload');
    }
  });
});

describe('Twirp codec: message.id is required', () => {
  const cases: [string, WireCodec, Uint8Array][] = [
    ['protobuf, empty body', protobufCodec, new Uint8Array(0)],
    ['protobuf, no message', protobufCodec, lengthDelimited(2, bytes(lengthDelimited(1, 'k'), lengthDelimited(2, 'v')))],
    ['protobuf, empty id', protobufCodec, lengthDelimited(1, lengthDelimited(2, 'text only'))],
    ['JSON, empty object', jsonCodec, utf8.encode('{}')],
    ['JSON, no id', jsonCodec, utf8.encode('{"message":{"text":"x"}}')],
    ['JSON, empty id', jsonCodec, utf8.encode('{"message":{"id":""}}')],
    ['JSON, null message', jsonCodec, utf8.encode('{"message":null}')],
  ];
  for (const [name, codec, body] of cases) {
    it(`${name} → invalid_payload, answered as invalid_argument 400`, () => {
      const error = expectError(codec.decode(body, limits), 'invalid_payload');
      const response = codec.encodeError(error);
      expect(response.status).toBe(400);
      expect(JSON.parse(bodyText(response))).toMatchObject({ code: 'invalid_argument', msg: 'message.id is required' });
    });
  }
});

describe('Twirp errors', () => {
  it('the Twirp code → HTTP status table is the spec table', () => {
    expect(twirpCodeToHttpStatus).toEqual({
      canceled: 408,
      invalid_argument: 400,
      malformed: 400,
      deadline_exceeded: 408,
      not_found: 404,
      bad_route: 404,
      already_exists: 409,
      permission_denied: 403,
      unauthenticated: 401,
      resource_exhausted: 429,
      failed_precondition: 412,
      aborted: 409,
      out_of_range: 400,
      unimplemented: 501,
      internal: 500,
      unavailable: 503,
      dataloss: 500,
      unknown: 500,
    });
  });

  const expected: Record<HookErrorCode, [string, number]> = {
    not_found: ['bad_route', 404],
    method_not_allowed: ['bad_route', 404],
    unsupported_media_type: ['bad_route', 404],
    payload_too_large: ['invalid_argument', 400],
    invalid_signature: ['unauthenticated', 401],
    unknown_api_key: ['unauthenticated', 401],
    malformed_json: ['malformed', 400],
    malformed_protobuf: ['malformed', 400],
    invalid_payload: ['invalid_argument', 400],
    decision_not_applied: ['unavailable', 503],
    overloaded: ['unavailable', 503],
    shutting_down: ['unavailable', 503],
    internal: ['internal', 500],
  };

  for (const code of hookErrorCodes) {
    it(`${code} → ${expected[code][0]} ${expected[code][1]}, JSON whatever the encoding`, () => {
      const error = new HookError(code, `text for ${code}`, 'secret detail');
      for (const encode of [family.encodeError, protobufCodec.encodeError, jsonCodec.encodeError]) {
        const response = encode(error);
        expect(response.status).toBe(expected[code][1]);
        expect(response.headers['content-type']).toBe('application/json');
        const text = bodyText(response);
        expect(JSON.parse(text)).toEqual({ code: expected[code][0], msg: `text for ${code}`, meta: { hook_error: code } });
        expect(text).not.toContain('secret detail');
      }
    });
  }
});

describe('Twirp answers', () => {
  const actionNames: Record<DecisionAction, string> = {
    commit: 'ACTION_COMMIT',
    delete: 'ACTION_DELETE',
    keep_pending: 'ACTION_KEEP_PENDING',
  };
  const outcomes: Outcome[] = [
    { action: 'commit', timedOut: false },
    { action: 'delete', reason: 'spam', timedOut: false },
    { action: 'keep_pending', reason: 'timeout', timedOut: true },
    { action: 'commit', reason: 'handler_error', timedOut: false },
    { action: 'delete', reason: 'ünïcödé "quoted"', timedOut: true },
    { action: 'keep_pending', reason: '', timedOut: false },
  ];

  for (const outcome of outcomes) {
    it(`PassOn ${JSON.stringify(outcome)}: JSON emits every field with proto names`, () => {
      const response = jsonCodec.encodePassOn(outcome);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/json');
      expect(JSON.parse(bodyText(response))).toStrictEqual({
        action: actionNames[outcome.action],
        reason: outcome.reason ?? '',
        timed_out: outcome.timedOut,
        accepted: false,
      });
    });

    it(`PassOn ${JSON.stringify(outcome)}: protobuf`, () => {
      const response = protobufCodec.encodePassOn(outcome);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/protobuf');
      const decoded = fromBinary(PendingMessageResponseSchema, bodyBytes(response));
      expect(passOnAnswerFromProto(decoded)).toEqual({
        action: outcome.action,
        actionNumber: decoded.action,
        reason: outcome.reason || undefined,
        timedOut: outcome.timedOut,
        accepted: false,
      });
    });
  }

  it('ack-first answer: ACTION_UNSPECIFIED with accepted', () => {
    expect(JSON.parse(bodyText(jsonCodec.encodeAccepted()))).toStrictEqual({
      action: 'ACTION_UNSPECIFIED',
      reason: '',
      timed_out: false,
      accepted: true,
    });
    const decoded = fromBinary(PendingMessageResponseSchema, bodyBytes(protobufCodec.encodeAccepted()));
    expect(decoded.action).toBe(Action.UNSPECIFIED);
    expect(decoded.accepted).toBe(true);
    expect(bodyBytes(protobufCodec.encodeAccepted())).toEqual(Uint8Array.of(0x20, 0x01)); // field 4 = true
  });

  it('DeletedPendingMessage answer is the empty message', () => {
    expect(bodyBytes(protobufCodec.encodeDeleted())).toHaveLength(0);
    expect(equals(DeletedPendingMessageResponseSchema, fromBinary(DeletedPendingMessageResponseSchema, bodyBytes(protobufCodec.encodeDeleted())), create(DeletedPendingMessageResponseSchema))).toBe(true);
    expect(JSON.parse(bodyText(jsonCodec.encodeDeleted()))).toStrictEqual({});
    expect(protobufCodec.encodeDeleted().headers['content-type']).toBe('application/protobuf');
    expect(jsonCodec.encodeDeleted().headers['content-type']).toBe('application/json');
  });

  it('constant answers are computed once, shared and frozen', () => {
    for (const codec of [protobufCodec, jsonCodec]) {
      expect(codec.encodeAccepted()).toBe(codec.encodeAccepted());
      expect(codec.encodeDeleted()).toBe(codec.encodeDeleted());
      const commit: Outcome = { action: 'commit', timedOut: false };
      expect(codec.encodePassOn(commit)).toBe(codec.encodePassOn({ ...commit }));
      const fallback: Outcome = { action: 'delete', reason: 'timeout', timedOut: true };
      expect(codec.encodePassOn(fallback)).toBe(codec.encodePassOn({ ...fallback }));
      expect(Object.isFrozen(codec.encodeAccepted())).toBe(true);
      expect(Object.isFrozen(codec.encodeAccepted().headers)).toBe(true);
    }
  });

  it('JSON answers equal protobuf-es toJson with proto names and implicit fields', () => {
    const message = create(PendingMessageResponseSchema, { action: Action.DELETE, reason: 'r', timedOut: true });
    expect(bodyText(jsonCodec.encodePassOn({ action: 'delete', reason: 'r', timedOut: true }))).toBe(
      toJsonString(PendingMessageResponseSchema, message, { useProtoFieldName: true, alwaysEmitImplicit: true }),
    );
  });
});

describe('Twirp unknown enum values', () => {
  it('binary: an unknown action number is kept (open enum) and maps to no decision', () => {
    const wire = bytes(tag(1, 0), varint(99), lengthDelimited(2, 'future'));
    const decoded = fromBinary(PendingMessageResponseSchema, wire);
    expect(decoded.action).toBe(99);
    expect(passOnAnswerFromProto(decoded)).toEqual({
      action: undefined,
      actionNumber: 99,
      reason: 'future',
      timedOut: false,
      accepted: false,
    });
  });

  it('JSON: an unknown action name is ignored with ignoreUnknownFields, rejected without', () => {
    const text = '{"action":"ACTION_FUTURE","accepted":true}';
    const decoded = fromJsonString(PendingMessageResponseSchema, text, { ignoreUnknownFields: true });
    expect(decoded.action).toBe(Action.UNSPECIFIED);
    expect(decoded.accepted).toBe(true);
    expect(() => fromJsonString(PendingMessageResponseSchema, text)).toThrow();
  });

  it('ACTION_UNSPECIFIED names no decision', () => {
    expect(actionFromProto(Action.UNSPECIFIED)).toBeUndefined();
    expect(actionFromProto(Action.COMMIT)).toBe('commit');
    expect(actionFromProto(Action.DELETE)).toBe('delete');
    expect(actionFromProto(Action.KEEP_PENDING)).toBe('keep_pending');
    expect(actionFromProto(-1)).toBeUndefined();
  });
});

describe('Twirp content types and routes', () => {
  it.each([
    ['application/protobuf', 'protobuf'],
    ['application/json', 'json'],
    ['APPLICATION/PROTOBUF', 'protobuf'],
    ['Application/Json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['application/json;charset=UTF-8', 'json'],
    ['application/json; charset="utf-8"', 'json'],
    ['application/json ; charset = utf8 ', 'json'],
    ['application/protobuf; charset=utf-8', 'protobuf'],
    ['application/json; foo=bar', 'json'],
  ] as const)('%s → %s', (header, encoding) => {
    expect(parseTwirpContentType(header)).toBe(encoding);
    expect(family.codecFor(header)?.transport).toBe(`twirp-${encoding}`);
  });

  it.each([
    [undefined],
    [''],
    ['text/plain'],
    ['application/x-protobuf'],
    ['application/jsonx'],
    ['application/json+grpc'],
    ['application/grpc'],
    ['application/json; charset=latin1'],
    ['xapplication/json'],
  ] as const)('%s is not served (bad_route)', (header) => {
    expect(parseTwirpContentType(header)).toBeUndefined();
    expect(family.codecFor(header)).toBeUndefined();
  });

  it('route paths', () => {
    expect(twirpServiceName).toBe('pendingmessage.v1.PendingMessageService');
    expect(twirpRoutePath('/twirp', 'PassOnPendingMessage')).toBe(
      '/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage',
    );
    expect(twirpRoutePath('', 'DeletedPendingMessage')).toBe(
      '/pendingmessage.v1.PendingMessageService/DeletedPendingMessage',
    );
    expect(twirpRoutePath('twirp/', 'PassOnPendingMessage')).toBe(
      '/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage',
    );
    expect(twirpRoutePath('/api/hooks/', 'PassOnPendingMessage')).toBe(
      '/api/hooks/pendingmessage.v1.PendingMessageService/PassOnPendingMessage',
    );
  });

  it('family and codec names', () => {
    expect(family.name).toBe('twirp');
    expect(protobufCodec.transport).toBe('twirp-protobuf');
    expect(jsonCodec.transport).toBe('twirp-json');
  });
});
