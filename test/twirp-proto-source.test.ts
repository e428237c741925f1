import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { create, createFileRegistry, fromBinary, ScalarType, toBinary, toJsonString, type DescField, type DescMessage, type Message } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { HookError } from '../src/core/hook-error.js';
import { pendingMessageBodySchema } from '../src/event/message-schema.js';
import type { DecodedPayload } from '../src/event/pending-message-event.js';
import { PendingMessageRequestSchema } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import type { DecodeLimits } from '../src/transports/codec.js';
import { createTwirpDecoders, decodeTwirpProtobuf, warnTwirpSlowPathOnce, type TwirpDecoders } from '../src/transports/twirp/decode.js';
import { compileFastTwirpDecoders } from '../src/transports/twirp/fast-decode/index.js';
import { describeFieldKind } from '../src/transports/twirp/fast-decode/plan.js';
import { createTwirpFamily, twirpProtobufCodec } from '../src/transports/twirp/index.js';
import { flattenedStructField, restFromProto, restToProto } from '../src/transports/twirp/message-convert.js';

/*
 * The .proto is the one source of the Twirp side: the decoders (compiled fast paths and the
 * protobuf-es reference), the converters to and from the REST shape and the fuzzers below are
 * all derived from the descriptors, so a field added to the .proto needs no edit anywhere in
 * src/transports/twirp. The REST schema (`event/message-schema.ts`) stays written by hand — it
 * is the contract's REST shape — and a test here fails when the .proto has a field it lacks.
 */

type Result = DecodedPayload | HookError;
const limits: DecodeLimits = { maxJsonDepth: 64 };
const encoder = new TextEncoder();
const root = resolve(import.meta.dirname, '..');

// --- a copy of our .proto, changed, built with buf: descriptors only, nothing generated ---

/** Our .proto with `edit` applied, built by buf into descriptors: the request message of the result. */
function buildChangedProto(edit: (text: string) => string): DescMessage {
  const dir = mkdtempSync(join(tmpdir(), 'ph-proto-source-'));
  try {
    cpSync(join(root, 'proto'), join(dir, 'proto'), { recursive: true });
    const file = join(dir, 'proto/pendingmessage/v1/pending_message.proto');
    const original = readFileSync(file, 'utf8');
    const changed = edit(original);
    expect(changed).not.toBe(original);
    writeFileSync(file, changed);
    const image = join(dir, 'image.binpb');
    execFileSync(join(root, 'node_modules/.bin/buf'), ['build', join(dir, 'proto'), '-o', image]);
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(image)));
    const request = registry.getMessage(PendingMessageRequestSchema.typeName);
    if (!request) throw new Error('the changed .proto has no request message');
    return request;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fields of kinds the fast decoders compile, added at three levels. */
const withNewFields = buildChangedProto((text) =>
  text
    .replace(
      'google.protobuf.Struct custom = 15;',
      'google.protobuf.Struct custom = 15;\n  optional string moderation_note = 16;\n  optional bool pinned = 17;\n' +
        '  repeated Attachment extra_attachments = 18;\n  User pinned_by = 19;\n  string thread_title = 20;',
    )
    .replace('google.protobuf.Struct custom = 5;', 'google.protobuf.Struct custom = 5;\n  optional string language = 6;')
    .replace('optional string ext = 5;', 'optional string ext = 5;\n  optional string country = 6;'),
);

/** Fields of kinds the fast decoders do not compile. */
const withUnsupportedKinds = buildChangedProto((text) =>
  text.replace(
    'google.protobuf.Struct custom = 15;',
    'google.protobuf.Struct custom = 15;\n  int32 reply_count = 16;\n  repeated string tags = 17;\n  Action moderation = 18;',
  ),
);

function messageDescOf(request: DescMessage): DescMessage {
  return request.fields.find((field) => field.localName === 'message')!.message!;
}

// --- strict comparison (key order, prototypes, -0) ---

function difference(a: unknown, b: unknown, path: string): string | undefined {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a === 'number') return Object.is(a, b) ? undefined : `${path}: ${a} vs ${String(b)}`;
  if (typeof a !== 'object' || a === null || b === null) return a === b ? undefined : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  if (Array.isArray(x) !== Array.isArray(y)) return `${path}: array vs not`;
  if (Object.getPrototypeOf(x) !== Object.getPrototypeOf(y)) return `${path}: prototypes differ`;
  const xKeys = Reflect.ownKeys(x);
  const yKeys = Reflect.ownKeys(y);
  if (xKeys.length !== yKeys.length || xKeys.some((key, i) => key !== yKeys[i])) {
    return `${path}: keys ${JSON.stringify(xKeys.map(String))} vs ${JSON.stringify(yKeys.map(String))}`;
  }
  for (const key of xKeys) {
    const found = difference(x[key as string], y[key as string], `${path}.${String(key)}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Throws (failing the property) unless both give the same payload, or errors with the same code. */
function expectSame(fast: Result, reference: Result, input: () => string): void {
  let found: string | undefined;
  if (fast instanceof HookError || reference instanceof HookError) {
    const describeResult = (result: Result) => (result instanceof HookError ? `${result.code} (${result.detail ?? result.message})` : 'a payload');
    if (!(fast instanceof HookError && reference instanceof HookError && fast.code === reference.code)) {
      found = `fast: ${describeResult(fast)}, protobuf-es: ${describeResult(reference)}`;
    }
  } else {
    found = difference(fast, reference, '$');
  }
  if (found !== undefined) throw new Error(`${found}\n  input: ${input()}`);
}

// --- the REST schema against the .proto ---

function unwrap(schema: z.ZodType): z.ZodType {
  let inner = schema;
  for (;;) {
    const def = inner._zod.def as { type: string; innerType?: z.ZodType };
    if ((def.type === 'optional' || def.type === 'nullable') && def.innerType) inner = def.innerType;
    else return inner;
  }
}

/** The zod type a field's REST value must have (see the rule in message-convert.ts). */
function restTypeOf(kind: 'scalar' | 'enum', scalar: ScalarType | undefined): string {
  if (kind === 'enum') return 'string';
  switch (scalar) {
    case ScalarType.BOOL:
      return 'boolean';
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
    case ScalarType.INT32:
    case ScalarType.UINT32:
    case ScalarType.SINT32:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return 'number';
    default:
      return 'string';
  }
}

/**
 * Every typed field of the .proto (its flattened Struct aside) that the REST schema — and so the
 * event's TypeScript type, which is inferred from it — lacks or types otherwise.
 */
function restSchemaGaps(desc: DescMessage, schema: z.ZodType, path: string, gaps: string[] = [], seen = new Set<DescMessage>()): string[] {
  if (seen.has(desc)) return gaps;
  seen.add(desc);
  const object = unwrap(schema);
  if (object._zod.def.type !== 'object') {
    gaps.push(`${path}: the REST schema has a ${object._zod.def.type} where ${desc.typeName} is`);
    return gaps;
  }
  const shape = (object as z.ZodObject).shape as Record<string, z.ZodType>;
  const custom = flattenedStructField(desc);
  for (const field of desc.fields) {
    if (field === custom) continue;
    const where = `${desc.typeName}.${field.name} (${describeFieldKind(field)})`;
    const fieldSchema = shape[field.name];
    if (fieldSchema === undefined) {
      gaps.push(`${where} is missing from the REST schema at ${path}.${field.name}`);
      continue;
    }
    checkFieldType(field, unwrap(fieldSchema), where, `${path}.${field.name}`, gaps, seen);
  }
  return gaps;
}

function checkFieldType(field: DescField, schema: z.ZodType, where: string, path: string, gaps: string[], seen: Set<DescMessage>): void {
  const type = schema._zod.def.type;
  const expectType = (expected: string) => {
    if (type !== expected) gaps.push(`${where}: the REST schema at ${path} is a ${type}, not a ${expected}`);
    return type === expected;
  };
  switch (field.fieldKind) {
    case 'scalar':
    case 'enum':
      expectType(restTypeOf(field.fieldKind, field.scalar));
      break;
    case 'message':
      if (field.message.typeName.startsWith('google.protobuf.')) break;
      restSchemaGaps(field.message, schema, path, gaps, seen);
      break;
    case 'list':
      if (expectType('array')) {
        const element = unwrap((schema._zod.def as unknown as { element: z.ZodType }).element);
        if (field.listKind === 'message') restSchemaGaps(field.message, element, `${path}[]`, gaps, seen);
        else if (element._zod.def.type !== restTypeOf(field.listKind, field.scalar)) gaps.push(`${where}: the items of ${path} are ${element._zod.def.type}`);
      }
      break;
    case 'map':
      expectType('record');
      break;
  }
}

describe('the REST schema (and the event type inferred from it) covers the .proto', () => {
  it('every typed field of the request, its message, users, attachments and request info is in pendingMessageBodySchema', () => {
    expect(restSchemaGaps(PendingMessageRequestSchema, pendingMessageBodySchema, '$')).toEqual([]);
  });

  it('a field added to the .proto and not to the REST schema fails the check, naming it', () => {
    const gaps = restSchemaGaps(withNewFields, pendingMessageBodySchema, '$');
    expect(gaps).toEqual([
      'pendingmessage.v1.User.language (string) is missing from the REST schema at $.message.user.language',
      'pendingmessage.v1.Message.moderation_note (string) is missing from the REST schema at $.message.moderation_note',
      'pendingmessage.v1.Message.pinned (bool) is missing from the REST schema at $.message.pinned',
      'pendingmessage.v1.Message.extra_attachments (repeated pendingmessage.v1.Attachment) is missing from the REST schema at $.message.extra_attachments',
      'pendingmessage.v1.Message.pinned_by (pendingmessage.v1.User) is missing from the REST schema at $.message.pinned_by',
      'pendingmessage.v1.Message.thread_title (string) is missing from the REST schema at $.message.thread_title',
      'pendingmessage.v1.RequestInfo.country (string) is missing from the REST schema at $.request_info.country',
    ]);
  });
});

// --- a field added to the .proto reaches the decoders and converters with no edit ---

describe('a field added to the .proto (a changed copy, built with buf) needs no edit', () => {
  const decoders = createTwirpDecoders(withNewFields);
  const body = {
    message: {
      id: 'm1',
      text: 'hello',
      user: { id: 'ann', name: 'Ann', language: 'de', nickname: 'a' },
      attachments: [{ type: 'image', image_url: 'https://cdn.example/a.png' }],
      moderation_note: 'looks fine',
      pinned: false,
      extra_attachments: [{ type: 'file', asset_url: 'https://cdn.example/f.pdf', pages: 3 }],
      pinned_by: { id: 'mod', language: 'fr' },
      thread_title: '',
      mood: 'happy',
    },
    metadata: { source: 'test' },
    request_info: { type: 'client', country: 'NL' },
  };
  const request = restToProto(withNewFields, body);
  const expected: DecodedPayload = { message: body.message, metadata: body.metadata, requestInfo: body.request_info };

  it('the compiled decoders serve the changed schema (no fallback to protobuf-es)', () => {
    expect(decoders.fastDecoderFallback).toBeUndefined();
    expect(decoders.unsupportedFields).toEqual([]);
  });

  it('the converters carry the new fields both ways (REST → protobuf → REST)', () => {
    const message = (request as unknown as { message: Message }).message;
    expect((message as unknown as Record<string, unknown>).moderationNote).toBe('looks fine');
    expect(restFromProto(messageDescOf(withNewFields), message)).toEqual(body.message);
  });

  it('the protobuf fast decoder gives the new fields in the event, as protobuf-es does', () => {
    const bytes = toBinary(withNewFields, request);
    const fast = decoders.protobuf(bytes);
    expect(fast).toEqual(expected);
    expectSame(fast, decoders.protobufWithProtobufEs(bytes), () => 'the sample');
    // The decoders of our own .proto skip the new fields as unknown ones.
    expect((decodeTwirpProtobuf(bytes) as DecodedPayload).message).not.toHaveProperty('moderation_note');
  });

  it('the JSON fast reader gives the new fields in the event, with proto and lowerCamelCase names, as protobuf-es does', () => {
    for (const useProtoFieldName of [true, false]) {
      const json = encoder.encode(toJsonString(withNewFields, request, { useProtoFieldName }));
      const fast = decoders.json(json, limits);
      expect(fast).toEqual(expected);
      expectSame(fast, decoders.jsonWithProtobufEs(json, limits), () => 'the sample');
    }
  });
});

describe('a field of a kind the fast decoders do not support', () => {
  const decoders = createTwirpDecoders(withUnsupportedKinds);

  it('is named with its kind; protobuf-es decodes instead, and the event still carries it', () => {
    expect(decoders.unsupportedFields.map(({ field, kind }) => `${field}: ${kind}`)).toEqual([
      'pendingmessage.v1.Message.reply_count: int32',
      'pendingmessage.v1.Message.tags: repeated string',
      'pendingmessage.v1.Message.moderation: enum pendingmessage.v1.Action',
    ]);
    expect(decoders.fastDecoderFallback).toMatch(/reply_count \(int32\).*tags \(repeated string\).*moderation \(enum pendingmessage\.v1\.Action\)/);
    const body = { message: { id: 'm1', reply_count: 3, tags: ['a', 'b'], moderation: 'ACTION_DELETE', extra: true } };
    const request = restToProto(withUnsupportedKinds, body);
    const payload = decoders.protobuf(toBinary(withUnsupportedKinds, request));
    expect(payload).toEqual({ message: body.message, metadata: {}, requestInfo: {} });
    const json = decoders.json(encoder.encode(toJsonString(withUnsupportedKinds, request)), limits);
    expect(json).toEqual(payload);
  });

  it('is logged once at start-up, as a warning naming each field and kind', () => {
    const warn = vi.fn();
    expect(warnTwirpSlowPathOnce({ warn }, decoders)).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    const [fields, message] = warn.mock.calls[0] as [{ fields: unknown }, string];
    expect(fields).toEqual({
      fields: [
        { field: 'pendingmessage.v1.Message.reply_count', kind: 'int32' },
        { field: 'pendingmessage.v1.Message.tags', kind: 'repeated string' },
        { field: 'pendingmessage.v1.Message.moderation', kind: 'enum pendingmessage.v1.Action' },
      ],
    });
    expect(message).toMatch(/protobuf-es.*reply_count \(int32\)/);
  });

  it('our own .proto is fully compiled: creating the Twirp transport warns nothing', () => {
    const emitWarning = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const warn = vi.fn();
    try {
      createTwirpFamily({ logger: { warn } });
      createTwirpFamily();
      expect(warn).not.toHaveBeenCalled();
      expect(emitWarning).not.toHaveBeenCalled();
    } finally {
      emitWarning.mockRestore();
    }
  });
});

// --- an exception inside a decoder is a bug: internal (500), not the client's 400 ---

describe('an unexpected exception inside a fast decoder', () => {
  it('protobuf: answered as Twirp internal (HTTP 500) with the error in the logged detail, not malformed', () => {
    const valid = toBinary(PendingMessageRequestSchema, restToProto(PendingMessageRequestSchema, { message: { id: 'm1', text: 'hello' } }));
    // Reading byte 3 throws: a stand-in for a bug in the decoder.
    const exploding = new Proxy(valid, {
      get(target, key) {
        if (key === '3') throw new Error('bug: byte 3');
        return Reflect.get(target, key) as unknown;
      },
    });
    const result = twirpProtobufCodec.decode(exploding, limits);
    expect(result).toBeInstanceOf(HookError);
    const error = result as HookError;
    expect(error.code).toBe('internal');
    expect(error.detail).toMatch(/compiled protobuf decoder threw.*bug: byte 3/s);
    const answer = twirpProtobufCodec.encodeError(error);
    expect(answer.status).toBe(500);
    expect(JSON.parse(Buffer.from(answer.body as Uint8Array).toString('utf8'))).toMatchObject({ code: 'internal', msg: 'internal error' });
    // The same bytes, read normally, decode.
    expect(twirpProtobufCodec.decode(valid, limits)).not.toBeInstanceOf(HookError);
  });

  it('JSON: answered as internal, not malformed', () => {
    const compiled = compileFastTwirpDecoders(PendingMessageRequestSchema, { binaryRecursionLimit: 100, jsonRecursionLimit: 100 });
    if ('unsupported' in compiled) throw new Error(compiled.unsupported);
    const message = {};
    Object.defineProperty(message, 'text', { enumerable: true, get: () => { throw new Error('bug: text'); } });
    const result = compiled.json({ message });
    expect(result).toBeInstanceOf(HookError);
    expect((result as HookError).code).toBe('internal');
    expect((result as HookError).detail).toMatch(/compiled JSON reader threw.*bug: text/s);
    // Malformed input stays malformed.
    expect((compiled.json({ message: { id: 1 } }) as HookError).code).toBe('malformed_json');
  });

  it('the protobuf-es path: a converter exception is internal too', () => {
    const decoders = createTwirpDecoders(PendingMessageRequestSchema);
    const request = restToProto(PendingMessageRequestSchema, { message: { id: 'm1' } });
    Object.defineProperty((request as unknown as { message: object }).message, 'text', { get: () => { throw new Error('bug: convert'); } });
    expect((decoders.payloadFromRequest(request) as HookError).code).toBe('internal');
  });
});

// --- fuzz: random messages of the schema, encoded by protobuf-es; random bytes and JSON ---

/** A new seed each run unless FC_SEED is set; printed (also in the describe names) so a failure replays. */
// fast-check's own default (`Date.now() ^ (Math.random() * 0x100000000)`), chosen here so that it can be printed.
const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Date.now() ^ (Math.random() * 0x100000000);
const runs = Number(process.env.FC_RUNS ?? 300);
console.log(`twirp-proto-source fuzz: seed ${seed} (replay: FC_SEED=${seed} npx vitest run test/twirp-proto-source.test.ts)`);

const keyArb = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'id', 'text', 'custom', 'constructor', 'user', 'parentId', 'parent_id'));
const textArb = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('', '\uFEFFbom', 'x'.repeat(17), 'é'.repeat(9), '\u0000', 'Привет 👍🏽'),
);

function scalarArb(scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return textArb;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
      return fc.double();
    case ScalarType.FLOAT:
      return fc.float().map(Math.fround);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.integer();
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 0xffffffff });
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 8 });
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    default:
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  }
}

const jsonObjectArb = fc.dictionary(keyArb, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4, noNullPrototype: true });

/** A random protobuf-es init object of any message, from its descriptor alone. */
function messageArb(desc: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of desc.fields) {
    const itemArb = (kind: 'scalar' | 'enum' | 'message', message: DescMessage | undefined): fc.Arbitrary<unknown> | undefined => {
      if (kind === 'enum') return fc.constantFrom(...field.enum!.values.map((value) => value.number));
      if (kind === 'scalar') return scalarArb(field.scalar!);
      if (message!.typeName === 'google.protobuf.Struct') return jsonObjectArb;
      if (message!.typeName.startsWith('google.protobuf.') || depth >= 3) return undefined;
      return messageArb(message!, depth + 1);
    };
    let arb: fc.Arbitrary<unknown> | undefined;
    switch (field.fieldKind) {
      case 'scalar':
      case 'enum':
      case 'message':
        arb = itemArb(field.fieldKind, field.message);
        break;
      case 'list': {
        const item = itemArb(field.listKind, field.message);
        arb = item && fc.array(item, { maxLength: 3 });
        break;
      }
      case 'map': {
        const value = itemArb(field.mapKind, field.message);
        arb = value && fc.dictionary(field.mapKey === ScalarType.STRING ? keyArb : fc.string(), value, { maxKeys: 3, noNullPrototype: true });
        break;
      }
    }
    if (arb && !field.oneof) parts[field.localName] = arb;
  }
  return fc.record(parts, { requiredKeys: [] });
}

/** A byte-level edit of an encoding. */
const editArb = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'insert', 'delete', 'cut') });

function applyEdits(bytes: Uint8Array, edits: readonly { at: number; byte: number; op: string }[]): Uint8Array {
  const out = Array.from(bytes);
  for (const { at, byte, op } of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (op === 'set' && out.length > 0) out[i] = byte;
    else if (op === 'insert') out.splice(i, 0, byte);
    else if (op === 'delete') out.splice(i, 1);
    else if (op === 'cut') out.length = i;
  }
  return Uint8Array.from(out);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function fuzz(name: string, schema: DescMessage, decoders: TwirpDecoders): void {
  describe(`fast-check fuzz of ${name} against protobuf-es (seed ${seed})`, () => {
    const request = messageArb(schema).map((init) => create(schema, init as never) as Message);

    it('random messages encoded by protobuf-es: the protobuf fast decoder gives what protobuf-es gives', () => {
      fc.assert(
        fc.property(request, (message) => {
          const bytes = toBinary(schema, message);
          expectSame(decoders.protobuf(bytes), decoders.protobufWithProtobufEs(bytes), () => hex(bytes));
        }),
        { seed, numRuns: runs },
      );
    });

    it('the same as protobuf JSON, proto names and lowerCamelCase: the JSON fast reader gives what protobuf-es gives', () => {
      fc.assert(
        fc.property(request, fc.boolean(), (message, useProtoFieldName) => {
          let text: string;
          try {
            text = toJsonString(schema, message, { useProtoFieldName });
          } catch {
            return; // protobuf-es writes no JSON for it (a lone surrogate, say): nothing to compare
          }
          const body = encoder.encode(text);
          expectSame(decoders.json(body, limits), decoders.jsonWithProtobufEs(body, limits), () => text);
        }),
        { seed, numRuns: runs },
      );
    });

    it('random bytes, and valid encodings with bytes changed, inserted, deleted or cut: both accept or reject alike', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
          expectSame(decoders.protobuf(bytes), decoders.protobufWithProtobufEs(bytes), () => hex(bytes));
        }),
        { seed, numRuns: runs },
      );
      fc.assert(
        fc.property(request, fc.array(editArb, { minLength: 1, maxLength: 4 }), (message, edits) => {
          const bytes = applyEdits(toBinary(schema, message), edits);
          expectSame(decoders.protobuf(bytes), decoders.protobufWithProtobufEs(bytes), () => hex(bytes));
        }),
        { seed, numRuns: runs },
      );
    });

    it('random JSON in the request and the message: both accept or reject alike', () => {
      const anyJson = fc.jsonValue({ maxDepth: 4 });
      fc.assert(
        fc.property(fc.dictionary(keyArb, anyJson, { maxKeys: 4, noNullPrototype: true }), anyJson, fc.boolean(), (message, requestInfo, withId) => {
          const text = JSON.stringify({ message: withId ? { id: 'm', ...message } : message, request_info: requestInfo });
          const body = encoder.encode(text);
          expectSame(decoders.json(body, limits), decoders.jsonWithProtobufEs(body, limits), () => text);
        }),
        { seed, numRuns: runs },
      );
    });
  });
}

fuzz('our .proto', PendingMessageRequestSchema, createTwirpDecoders(PendingMessageRequestSchema));
fuzz('the .proto with new fields', withNewFields, createTwirpDecoders(withNewFields));
