import { fromBinary, fromJson, toBinary, toJsonString, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { isWellFormed } from '../src/event/message-id.js';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { HookError } from '../src/core/hook-error.js';
import { sampleMessage, samplePayload, seededRandom } from '../src/emulator/index.js';
import type { PendingMessage } from '../src/event/message-schema.js';
import type { DecodedPayload } from '../src/event/pending-message-event.js';
import {
  DeletedPendingMessageResponseSchema,
  MessageSchema,
  PendingMessageRequestSchema,
  PendingMessageResponseSchema,
} from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import type { DecodeLimits } from '../src/transports/codec.js';
import { jsonNestsDeeperThan } from '../src/transports/json-depth.js';
import {
  decodeTwirpJson,
  decodeTwirpProtobuf,
  fastDecoderFallback,
  payloadFromRequest,
  protobufRecursionLimit,
} from '../src/transports/twirp/decode.js';
import { compileFastTwirpDecoders } from '../src/transports/twirp/fast-decode/index.js';
import { pendingMessageRequestFromBody } from '../src/transports/twirp/message-convert.js';

/*
 * The compiled Twirp decoders (src/transports/twirp/fast-decode/) against the reference
 * they replace: protobuf-es `fromBinary` / `fromJson` followed by `payloadFromRequest`, kept
 * here as it was in decode.ts. For every input, realistic or hostile, both give the same
 * payload (same keys in the same order, same prototypes, same values: -0 and NaN included)
 * or both give an error with the same HookError code.
 */

type Result = DecodedPayload | HookError;

const defaultLimits: DecodeLimits = { maxJsonDepth: 64 };
const encoder = new TextEncoder();
// ignoreBOM: a BOM is kept, and JSON.parse refuses it (both transports' rule: a BOM is not JSON).
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// --- the reference ---

function referenceProtobuf(body: Uint8Array): Result {
  let request;
  try {
    request = fromBinary(PendingMessageRequestSchema, body, {
      readUnknownFields: false,
      recursionLimit: protobufRecursionLimit,
    });
  } catch (error) {
    return new HookError('malformed_protobuf', 'reference', String(error));
  }
  return payloadFromRequest(request);
}

function referenceJson(body: Uint8Array, limits: DecodeLimits): Result {
  if (body.byteLength === 0) return new HookError('malformed_json', 'reference: empty');
  if (jsonNestsDeeperThan(body, limits.maxJsonDepth)) return new HookError('malformed_json', 'reference: deep');
  let json: unknown;
  try {
    json = JSON.parse(fatalUtf8.decode(body));
  } catch (error) {
    return new HookError('malformed_json', 'reference', String(error));
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return new HookError('invalid_payload', 'reference: not an object');
  }
  // The contract's rule on top of protobuf-es: a message.id with a lone surrogate is an invalid payload.
  const id = ((json as { message?: { id?: unknown } }).message ?? {}).id;
  if (typeof id === 'string' && !isWellFormed(id)) return new HookError('invalid_payload', 'reference: lone surrogate id');
  let request;
  try {
    request = fromJson(PendingMessageRequestSchema, json as JsonValue, { ignoreUnknownFields: true });
  } catch (error) {
    return new HookError('malformed_json', 'reference', String(error));
  }
  return payloadFromRequest(request);
}

// --- comparison ---

/** The first difference between two decoded values, strictly (key order, prototypes, -0). */
function difference(a: unknown, b: unknown, path: string): string | undefined {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a === 'number') return Object.is(a, b) ? undefined : `${path}: ${a} vs ${String(b)}`;
  if (typeof a !== 'object' || a === null || b === null) {
    return a === b ? undefined : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
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
    const descriptor = Object.getOwnPropertyDescriptor(x, key)!;
    const other = Object.getOwnPropertyDescriptor(y, key)!;
    if (descriptor.enumerable !== other.enumerable) return `${path}.${String(key)}: enumerability differs`;
    const found = difference(descriptor.value, other.value, `${path}.${String(key)}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function mismatch(fast: Result, reference: Result): string | undefined {
  if (fast instanceof HookError || reference instanceof HookError) {
    if (!(reference instanceof HookError)) return `fast: ${(fast as HookError).code} (${(fast as HookError).detail}), reference: a payload`;
    if (!(fast instanceof HookError)) return `fast: a payload, reference: ${reference.code} (${reference.detail})`;
    return fast.code === reference.code ? undefined : `fast: ${fast.code} (${fast.detail}), reference: ${reference.code} (${reference.detail})`;
  }
  return difference(fast, reference, '$');
}

/** Compares many cases, reporting the first few that differ (with the input to replay). */
class Comparison {
  readonly failures: string[] = [];
  readonly outcomes = new Map<string, number>();

  protobuf(label: string, body: Uint8Array): void {
    const fast = decodeTwirpProtobuf(body);
    this.record(label, fast, referenceProtobuf(body), () => Buffer.from(body).toString('hex'));
  }

  json(label: string, body: Uint8Array, limits: DecodeLimits = defaultLimits): void {
    const fast = decodeTwirpJson(body, limits);
    this.record(label, fast, referenceJson(body, limits), () => `${JSON.stringify(limits)} ${Buffer.from(body).toString('hex')}`);
  }

  jsonText(label: string, text: string, limits: DecodeLimits = defaultLimits): void {
    this.json(label, encoder.encode(text), limits);
  }

  private record(label: string, fast: Result, reference: Result, input: () => string): void {
    const outcome = reference instanceof HookError ? reference.code : 'payload';
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    const found = mismatch(fast, reference);
    if (found !== undefined && this.failures.length < 5) this.failures.push(`${label}: ${found}\n  input: ${input()}`);
  }

  count(outcome: string): number {
    return this.outcomes.get(outcome) ?? 0;
  }

  assertSame(): void {
    expect(this.failures).toEqual([]);
  }
}

// --- random inputs ---

type Random = () => number;
const int = (rand: Random, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Random, items: readonly T[]): T => items[int(rand, items.length)]!;

const keyPool = [
  'a', 'b', 'x y', '', '0', '7', '12', '-1', '1.5', '00', '4294967295', '__proto__', 'constructor', 'toString',
  'hasOwnProperty', 'valueOf', '$typeName', 'kind', 'fields', 'id', 'text', 'type', 'parent_id', 'parentId',
  'show_in_channel', 'custom', 'user', 'name', 'role', 'image', 'image_url', 'imageUrl', 'attachments',
  'émoji😀', '日本語', '\u0000', 'a\nb', 'k1', 'k2', 'k3',
] as const;
const stringPool = [
  '', ' ', 'x', 'hello', 'Привет!', 'これは', '👍🏽👨‍👩‍👧‍👦', '\uFEFFbom first', 'mid\uFEFFbom', 'line\n"quoted"\\',
  'https://cdn.example.com/a/very/long/path/to/some/resource.png?with=query&and=more', 'Z̷̢̛a̸l̶g̵o̴', '\u0000nul',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'regular', 'user', 'x'.repeat(17), 'é'.repeat(9),
] as const;
const numberPool = [0, 1, -1, 42, 0.25, -3.5, 1e300, -1e-300, 5e-324, 2 ** 53, 1920, 12.5] as const;

function randomString(rand: Random): string {
  return rand() < 0.8 ? pick(rand, stringPool) : `${pick(rand, stringPool)}-${int(rand, 1000)}`;
}

/** A random JSON value; `exotic` adds what only binary can carry (-0, NaN, ±Infinity). */
function randomJson(rand: Random, depth: number, exotic: boolean): unknown {
  const r = rand();
  if (depth >= 5 || r < 0.55) {
    const s = rand();
    if (s < 0.15) return null;
    if (s < 0.3) return rand() < 0.5;
    if (s < 0.6) {
      if (exotic && rand() < 0.15) return pick(rand, [-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      return pick(rand, numberPool);
    }
    return randomString(rand);
  }
  if (r < 0.75) return Array.from({ length: int(rand, 4) }, () => randomJson(rand, depth + 1, exotic));
  return randomObject(rand, depth + 1, exotic);
}

/** A random object; keys may repeat (the last wins) and may be `__proto__` (an own key). */
function randomObject(rand: Random, depth: number, exotic: boolean): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = int(rand, 5); i > 0; i--) {
    Object.defineProperty(object, pick(rand, keyPool), {
      value: randomJson(rand, depth, exotic),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}

/** A realistic REST message with random custom fields added to it, its author and attachments. */
function randomRestMessage(rand: Random, seed: number): PendingMessage {
  const message = sampleMessage({}, seed) as Record<string, unknown>;
  const sprinkle = (target: Record<string, unknown>) => {
    for (let i = int(rand, 4); i > 0; i--) {
      const key = pick(rand, keyPool);
      // Typed fields keep their types (the REST → protobuf conversion needs them).
      if (key in target || ['id', 'text', 'type', 'user', 'name', 'role', 'image', 'custom', 'attachments'].includes(key)) continue;
      if (key === '__proto__' || key === 'parent_id' || key === 'show_in_channel' || key === 'image_url') continue;
      target[key] = randomJson(rand, 1, false);
    }
  };
  sprinkle(message);
  if (message.user) sprinkle(message.user as Record<string, unknown>);
  for (const attachment of (message.attachments as Record<string, unknown>[] | undefined) ?? []) sprinkle(attachment);
  if (rand() < 0.2) {
    // Optionals set to their empty values: protobuf presence keeps them.
    Object.assign(message, { text: '', html: '', cid: '', silent: false, show_in_channel: false, parent_id: '' });
  }
  if (rand() < 0.1) message.attachments = [{}];
  if (rand() < 0.1) message.mentioned_users = [{ id: '' }];
  return message as PendingMessage;
}

function randomRequest(rand: Random, seed: number) {
  const message = randomRestMessage(rand, seed);
  const body = samplePayload(message, { seed });
  if (rand() < 0.2) body.metadata = {};
  if (rand() < 0.1) body.metadata = { '': '', 'émoji😀': '👍', [pick(rand, keyPool)]: randomString(rand) };
  if (rand() < 0.15) delete (body as { request_info?: unknown }).request_info;
  return pendingMessageRequestFromBody(body);
}

// --- a protobuf wire tree: parse valid encodings, change them, write them back ---

type WireNode =
  | { no: number; wt: number; tagPad?: number; kind: 'varint'; bytes: number[] }
  | { no: number; wt: number; tagPad?: number; kind: 'fixed'; bytes: Uint8Array }
  | { no: number; wt: number; tagPad?: number; lenPad?: number; kind: 'bytes'; bytes: Uint8Array }
  | { no: number; wt: number; tagPad?: number; lenPad?: number; kind: 'message'; children: WireNode[] }
  | { no: number; wt: number; tagPad?: number; kind: 'group'; children: WireNode[] };

type Shape = { kind: 'message'; desc: DescMessage } | { kind: 'entry'; value: DescMessage | undefined };

function childShape(shape: Shape, no: number): Shape | undefined {
  if (shape.kind === 'entry') return no === 2 && shape.value ? { kind: 'message', desc: shape.value } : undefined;
  const field = shape.desc.fields.find((f) => f.number === no);
  if (!field) return undefined;
  if (field.fieldKind === 'map') return { kind: 'entry', value: field.mapKind === 'message' ? field.message : undefined };
  if (field.fieldKind === 'message') return { kind: 'message', desc: field.message };
  if (field.fieldKind === 'list' && field.listKind === 'message') return { kind: 'message', desc: field.message };
  return undefined;
}

/** Parses a valid encoding into nodes, descending into the known message fields. */
function parseWire(bytes: Uint8Array, shape: Shape): WireNode[] {
  const nodes: WireNode[] = [];
  let pos = 0;
  const varint = (): number[] => {
    const out: number[] = [];
    for (;;) {
      const b = bytes[pos++]!;
      out.push(b);
      if (b < 0x80) return out;
    }
  };
  const value = (raw: number[]): number => raw.reduceRight((acc, b) => acc * 128 + (b & 0x7f), 0);
  while (pos < bytes.length) {
    const tag = value(varint());
    const no = Math.floor(tag / 8);
    const wt = tag % 8;
    if (wt === 0) nodes.push({ no, wt, kind: 'varint', bytes: varint() });
    else if (wt === 1 || wt === 5) {
      const size = wt === 1 ? 8 : 4;
      nodes.push({ no, wt, kind: 'fixed', bytes: bytes.slice(pos, pos + size) });
      pos += size;
    } else if (wt === 2) {
      const length = value(varint());
      const payload = bytes.slice(pos, pos + length);
      pos += length;
      const sub = childShape(shape, no);
      nodes.push(sub ? { no, wt, kind: 'message', children: parseWire(payload, sub) } : { no, wt, kind: 'bytes', bytes: payload });
    } else throw new Error(`unexpected wire type ${wt} in a valid encoding`);
  }
  return nodes;
}

function varintBytes(n: number, pad = 0): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  // Padding: the same value in more bytes (0x80 continuation groups, then a final 0).
  for (let i = 0; i < pad; i++) {
    out[out.length - 1]! |= 0x80;
    out.push(0);
  }
  return out;
}

function writeWire(nodes: readonly WireNode[]): number[] {
  const out: number[] = [];
  for (const node of nodes) {
    out.push(...varintBytes(node.no * 8 + node.wt, node.tagPad));
    switch (node.kind) {
      case 'varint':
        out.push(...node.bytes);
        break;
      case 'fixed':
        out.push(...node.bytes);
        break;
      case 'bytes':
        out.push(...varintBytes(node.bytes.length, node.lenPad), ...node.bytes);
        break;
      case 'message': {
        const inner = writeWire(node.children);
        out.push(...varintBytes(inner.length, node.lenPad), ...inner);
        break;
      }
      case 'group':
        out.push(...writeWire(node.children), ...varintBytes(node.no * 8 + 4));
        break;
    }
  }
  return out;
}

/** Every list of child nodes in a tree (the root included), to pick where to change things. */
function nodeLists(nodes: WireNode[], into: WireNode[][] = []): WireNode[][] {
  into.push(nodes);
  for (const node of nodes) if (node.kind === 'message' || node.kind === 'group') nodeLists(node.children, into);
  return into;
}

function randomUnknownField(rand: Random, depth = 0): WireNode {
  const no = pick(rand, [16, 99, 100, 536870911, 1000, 30, 20, 21]);
  const kind = int(rand, depth > 2 ? 4 : 5);
  switch (kind) {
    case 0: // varint, sometimes long (skipping does not bound it)
      return { no, wt: 0, kind: 'varint', bytes: rand() < 0.2 ? [...Array(int(rand, 15)).fill(0xff), 1] : varintBytes(int(rand, 1e6)) };
    case 1:
      return { no, wt: 1, kind: 'fixed', bytes: Uint8Array.from({ length: 8 }, () => int(rand, 256)) };
    case 2:
      return { no, wt: 5, kind: 'fixed', bytes: Uint8Array.from({ length: 4 }, () => int(rand, 256)) };
    case 3:
      return { no, wt: 2, kind: 'bytes', bytes: Uint8Array.from({ length: int(rand, 12) }, () => int(rand, 256)) };
    default:
      return { no, wt: 3, kind: 'group', children: Array.from({ length: int(rand, 3) }, () => randomUnknownField(rand, depth + 1)) };
  }
}

/** A hand-encoded Struct (keys in own-key order, `__proto__` included) for a JSON object. */
function structNodes(object: Record<string, unknown>): WireNode[] {
  return Object.keys(object).map((key) => ({
    no: 1,
    wt: 2,
    kind: 'message' as const,
    children: [
      { no: 1, wt: 2, kind: 'bytes' as const, bytes: encoder.encode(key) },
      { no: 2, wt: 2, kind: 'message' as const, children: valueNodes(object[key]) },
    ],
  }));
}

function valueNodes(value: unknown): WireNode[] {
  if (value === null) return [{ no: 1, wt: 0, kind: 'varint', bytes: [0] }];
  if (typeof value === 'number') {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    return [{ no: 2, wt: 1, kind: 'fixed', bytes }];
  }
  if (typeof value === 'string') return [{ no: 3, wt: 2, kind: 'bytes', bytes: encoder.encode(value) }];
  if (typeof value === 'boolean') return [{ no: 4, wt: 0, kind: 'varint', bytes: [value ? 1 : 0] }];
  if (Array.isArray(value)) {
    return [{ no: 6, wt: 2, kind: 'message', children: value.map((item) => ({ no: 1, wt: 2, kind: 'message' as const, children: valueNodes(item) })) }];
  }
  return [{ no: 5, wt: 2, kind: 'message', children: structNodes(value as Record<string, unknown>) }];
}

const requestShape: Shape = { kind: 'message', desc: PendingMessageRequestSchema };

function mutateTree(rand: Random, root: WireNode[]): void {
  const lists = nodeLists(root);
  const list = pick(rand, lists);
  const at = int(rand, list.length + 1);
  switch (int(rand, 12)) {
    case 0:
    case 1: // unknown field of any wire type, anywhere
      list.splice(at, 0, randomUnknownField(rand));
      break;
    case 2: // a field twice: messages merge, scalars are replaced, lists grow
      if (list.length > 0) list.splice(at, 0, structuredClone(pick(rand, list)));
      break;
    case 3: // another order
      list.sort(() => rand() - 0.5);
      break;
    case 4: // a field dropped
      if (list.length > 0) list.splice(int(rand, list.length), 1);
      break;
    case 5: { // a known field with another wire type on its tag (protobuf-es reads it as declared)
      const node = list.length > 0 ? pick(rand, list) : undefined;
      if (node) node.wt = pick(rand, [0, 1, 2, 3, 4, 5]);
      break;
    }
    case 6: { // overlong varints: padded tags and lengths (some past 5 / 10 bytes)
      const node = list.length > 0 ? pick(rand, list) : undefined;
      if (node) {
        if (rand() < 0.5) node.tagPad = int(rand, 6);
        else if (node.kind === 'bytes' || node.kind === 'message') node.lenPad = int(rand, 11);
      }
      break;
    }
    case 7: { // strings: invalid UTF-8, a BOM, empty, long non-ASCII
      const strings = list.filter((node) => node.kind === 'bytes');
      const node = strings.length > 0 ? pick(rand, strings) : undefined;
      if (node && node.kind === 'bytes') {
        node.bytes = pick(rand, [
          Uint8Array.of(0xc3, 0x28),
          Uint8Array.of(0xef, 0xbb, 0xbf, 0x61),
          Uint8Array.of(0xed, 0xa0, 0x80),
          Uint8Array.of(0xf4, 0x90, 0x80, 0x80),
          Uint8Array.of(0xc0, 0xaf),
          new Uint8Array(0),
          encoder.encode('ü'.repeat(40)),
          Uint8Array.of(...encoder.encode('x'.repeat(20)), 0xff),
        ]);
      }
      break;
    }
    case 8: // a custom Struct added (merged with one already there), with exotic values
      list.splice(at, 0, { no: 15, wt: 2, kind: 'message', children: structNodes(randomObject(rand, 0, true)) });
      break;
    case 9: { // a Value with several kinds, or a struct/list value twice
      const value = pick(rand, [
        [...valueNodes('s'), ...valueNodes(1)],
        [...valueNodes({ a: 1 }), ...valueNodes({ b: 2, a: 3 })],
        [...valueNodes([1]), ...valueNodes([2, 3])],
        [...valueNodes([1]), ...valueNodes({ a: 1 }), ...valueNodes([2])],
        [...valueNodes({ a: 1 }), ...valueNodes(null), ...valueNodes({ b: 1 })],
        [],
        [{ no: 1, wt: 0, kind: 'varint' as const, bytes: [0xff, 0xff, 0xff, 0xff, 0x0f] }],
        [{ no: 4, wt: 0, kind: 'varint' as const, bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02] }],
      ]);
      list.splice(at, 0, {
        no: 15,
        wt: 2,
        kind: 'message',
        children: [{ no: 1, wt: 2, kind: 'message', children: [{ no: 1, wt: 2, kind: 'bytes', bytes: encoder.encode(pick(rand, keyPool)) }, { no: 2, wt: 2, kind: 'message', children: value }] }],
      });
      break;
    }
    case 10: // map entries with extra, missing or repeated parts
      list.splice(at, 0, {
        no: 2,
        wt: 2,
        kind: 'message',
        children: pick(rand, [
          [],
          [{ no: 1, wt: 2, kind: 'bytes' as const, bytes: encoder.encode('k') }],
          [{ no: 2, wt: 2, kind: 'bytes' as const, bytes: encoder.encode('v') }],
          [{ no: 1, wt: 2, kind: 'bytes' as const, bytes: encoder.encode('__proto__') }, { no: 2, wt: 2, kind: 'bytes' as const, bytes: encoder.encode('v') }],
          [{ no: 3, wt: 0, kind: 'varint' as const, bytes: [8] }, { no: 1, wt: 2, kind: 'bytes' as const, bytes: encoder.encode('k') }],
          [{ no: 1, wt: 2, kind: 'bytes' as const, bytes: encoder.encode('a') }, { no: 1, wt: 2, kind: 'bytes' as const, bytes: encoder.encode('b') }],
        ]),
      });
      break;
    default: // a message with the wrong shape where a string was (its bytes read as text)
      if (list.length > 0) {
        const index = int(rand, list.length);
        const node = list[index]!;
        if (node.kind === 'message') list[index] = { no: node.no, wt: 2, kind: 'bytes', bytes: Uint8Array.from(writeWire(node.children)) };
      }
  }
}

function bytesOf(request: ReturnType<typeof randomRequest>): Uint8Array {
  return toBinary(PendingMessageRequestSchema, request);
}

// --- the tests ---

describe('compiled Twirp decoders', () => {
  it('compile from the generated descriptors (no fallback to protobuf-es)', () => {
    expect(fastDecoderFallback).toBeUndefined();
  });

  it('refuse to compile what they do not support, saying why (decode.ts then uses protobuf-es)', () => {
    const options = { binaryRecursionLimit: 100, jsonRecursionLimit: 100 };
    for (const schema of [PendingMessageResponseSchema, DeletedPendingMessageResponseSchema, ValueSchema, MessageSchema]) {
      const compiled = compileFastTwirpDecoders(schema, options);
      expect(compiled).toHaveProperty('unsupported');
      expect((compiled as { unsupported: string }).unsupported).toMatch(/\S/);
    }
  });
});

describe('compiled protobuf decoder ≡ payloadFromRequest(fromBinary(...))', () => {
  it('realistic messages with random custom fields, empty optionals and lists', () => {
    const comparison = new Comparison();
    const rand = seededRandom('realistic-protobuf');
    for (let seed = 0; seed < 2000; seed++) comparison.protobuf(`seed ${seed}`, bytesOf(randomRequest(rand, seed)));
    comparison.assertSame();
    expect(comparison.count('payload')).toBe(2000);
  });

  it('hand-encoded Structs: __proto__ and typed-name keys, repeated keys, -0, NaN, ±Infinity, nesting', () => {
    const comparison = new Comparison();
    const rand = seededRandom('structs');
    for (let i = 0; i < 1500; i++) {
      const root = parseWire(bytesOf(randomRequest(rand, i)), requestShape);
      const message = root.find((node) => node.no === 1);
      if (message?.kind !== 'message') continue;
      for (const list of nodeLists(message.children)) {
        // Struct fields of the message, its users and attachments (number 15, 5 or 8 there).
        if (rand() < 0.5) continue;
        const no = list === message.children ? 15 : pick(rand, [5, 8]);
        list.push({ no, wt: 2, kind: 'message', children: structNodes(randomObject(rand, 0, true)) });
      }
      comparison.protobuf(`struct ${i}`, Uint8Array.from(writeWire(root)));
    }
    comparison.assertSame();
  });

  it('mutated encodings: unknown fields of every wire type, repeats, reordering, odd wire types and varints', () => {
    const comparison = new Comparison();
    const rand = seededRandom('mutations');
    for (let i = 0; i < 4000; i++) {
      const root = parseWire(bytesOf(randomRequest(rand, i)), requestShape);
      for (let n = 1 + int(rand, 4); n > 0; n--) mutateTree(rand, root);
      comparison.protobuf(`mutation ${i}`, Uint8Array.from(writeWire(root)));
    }
    comparison.assertSame();
    // The fuzzer reaches both sides.
    expect(comparison.count('payload')).toBeGreaterThan(500);
    expect(comparison.count('malformed_protobuf')).toBeGreaterThan(200);
  });

  it('truncations at every byte offset', () => {
    const comparison = new Comparison();
    const rand = seededRandom('truncations');
    for (let i = 0; i < 6; i++) {
      const root = parseWire(bytesOf(randomRequest(rand, 9000 + i)), requestShape);
      if (i % 2 === 1) for (let n = 0; n < 4; n++) mutateTree(rand, root);
      const body = Uint8Array.from(writeWire(root));
      for (let end = 0; end <= body.length; end++) comparison.protobuf(`message ${i} cut at ${end}`, body.subarray(0, end));
    }
    comparison.assertSame();
  });

  it('bit flips, byte insertions and deletions', () => {
    const comparison = new Comparison();
    const rand = seededRandom('flips');
    const first = bytesOf(randomRequest(rand, 1));
    for (let bit = 0; bit < first.length * 8; bit++) {
      const body = first.slice();
      body[bit >> 3]! ^= 1 << (bit & 7);
      comparison.protobuf(`flip bit ${bit}`, body);
    }
    for (let i = 0; i < 3000; i++) {
      const body = Array.from(bytesOf(randomRequest(rand, 100 + i)));
      for (let n = 1 + int(rand, 3); n > 0; n--) {
        const at = int(rand, body.length);
        const change = int(rand, 3);
        if (change === 0) body[at] = int(rand, 256);
        else if (change === 1) body.splice(at, 0, int(rand, 256));
        else body.splice(at, 1);
      }
      comparison.protobuf(`edit ${i}`, Uint8Array.from(body));
    }
    comparison.assertSame();
  });

  it('random bytes', () => {
    const comparison = new Comparison();
    const rand = seededRandom('random-bytes');
    for (let i = 0; i < 3000; i++) {
      const body = Uint8Array.from({ length: int(rand, 64) }, () => int(rand, 256));
      // Often start with a valid message tag so that decoding goes deeper.
      if (body.length > 2 && rand() < 0.5) body[0] = 0x0a;
      comparison.protobuf(`random ${i}`, body);
    }
    comparison.assertSame();
  });

  it('hand-made edge cases', () => {
    const comparison = new Comparison();
    const ld = (no: number, payload: number[] | string): number[] => {
      const bytes = typeof payload === 'string' ? Array.from(encoder.encode(payload)) : payload;
      return [...varintBytes(no * 8 + 2), ...varintBytes(bytes.length), ...bytes];
    };
    const tag = (no: number, wt: number) => varintBytes(no * 8 + wt);
    const msg = (...parts: number[][]) => ld(1, parts.flat());
    const id = ld(1, 'm');
    const cases: [string, number[]][] = [
      ['empty', []],
      ['only id', msg(id)],
      ['empty id', msg(ld(1, ''))],
      ['no message, metadata only', ld(2, [...ld(1, 'k'), ...ld(2, 'v')])],
      ['message twice: merged', [...msg(id, ld(2, 'a')), ...msg(ld(3, 'b'))]],
      ['id replaced by a later empty one', [...msg(id), ...msg(ld(1, ''))]],
      ['user twice: merged', msg(id, ld(8, ld(1, 'u')), ld(8, ld(2, 'name')))],
      ['string field with wire type varint', msg(id, [...tag(2, 0), 3, 0x61, 0x62, 0x63])],
      ['string field with wire type fixed32', msg(id, [...tag(2, 5), 1, 0x61])],
      ['bool field with wire type length-delimited', msg(id, [...tag(7, 2), 1])],
      ['bool as a 10-byte varint with only high bits', msg(id, [...tag(13, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])],
      ['bool as a 10-byte varint with bit 64 only', msg(id, [...tag(13, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02])],
      ['bool as an 11-byte varint', msg(id, [...tag(13, 0), ...Array(10).fill(0x80), 0x01])],
      ['bool with bits only in the middle byte', msg(id, [...tag(13, 0), 0x80, 0x80, 0x80, 0x80, 0x10])],
      ['length as a 10-byte varint', [...tag(1, 2), 0x83, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, ...id]],
      ['length as an 11-byte varint', [...tag(1, 2), 0x83, ...Array(9).fill(0x80), 0x00, ...id]],
      ['length with high bits set past 32', [...tag(1, 2), 0x83, 0x80, 0x80, 0x80, 0x70, ...id]],
      ['tag in 5 bytes', [0x8a, 0x80, 0x80, 0x80, 0x00, 3, ...id]],
      ['tag in 5 bytes with high bits', [0x8a, 0x80, 0x80, 0x80, 0x10, 3, ...id]],
      ['tag in 6 bytes', [0x8a, 0x80, 0x80, 0x80, 0x80, 0x00, 3, ...id]],
      ['field number 0', [0x02, 0x00, ...msg(id)]],
      ['wire type 6', [...msg(id), 0x0e]],
      ['wire type 7', [...msg(id), 0x0f]],
      ['stray end group', [...msg(id), ...tag(5, 4)]],
      ['stray end group of a known field', [...msg(id), ...tag(1, 4)]],
      ['unknown group', [...msg(id), ...tag(5, 3), ...tag(1, 0), 1, ...tag(5, 4)]],
      ['unknown group, wrong end', [...msg(id), ...tag(5, 3), ...tag(6, 4)]],
      ['unknown group, never ends', [...msg(id), ...tag(5, 3), ...tag(1, 0), 1]],
      ['unknown group inside the message', msg(id, tag(99, 3), tag(98, 3), tag(98, 4), tag(99, 4))],
      ['known field number with group wire type', [...msg(id), ...tag(3, 3), ...tag(3, 4)]],
      ['unknown varint of 20 bytes', [...msg(id), ...tag(50, 0), ...Array(19).fill(0xff), 0x01]],
      ['unknown varint cut', [...msg(id), ...tag(50, 0), 0xff]],
      ['unknown fixed64 cut', [...msg(id), ...tag(50, 1), 1, 2, 3]],
      ['unknown fixed32 exact', [...msg(id), ...tag(50, 5), 1, 2, 3, 4]],
      ['unknown bytes past the end', [...msg(id), ...tag(50, 2), 5, 1]],
      ['sub-message length past its parent', [...tag(1, 2), 2, ...id, ...ld(2, 'after')]],
      ['field running past its message end', [...tag(1, 2), 3, ...tag(2, 2), 5, 0x61, 0x62, 0x63, 0x64, 0x65, ...ld(3, 'x')]],
      ['zero-length user', msg(id, ld(8, []))],
      ['zero-length request_info', [...msg(id), ...ld(3, [])]],
      ['zero-length custom', msg(id, ld(15, []))],
      ['custom with an entry without key or value', msg(id, ld(15, ld(1, [])))],
      ['custom value cut inside', msg(id, ld(15, ld(1, [...ld(1, 'k'), ...tag(2, 2), 9, ...tag(2, 1)])))],
      ['Value number cut', msg(id, ld(15, ld(1, [...ld(1, 'k'), ...ld(2, [...tag(2, 1), 0, 0, 0])])))],
      ['Value number with a varint wire type', msg(id, ld(15, ld(1, [...ld(1, 'k'), ...ld(2, [...tag(2, 0), 1, 2, 3, 4, 5, 6, 7, 8])])))],
      ['Value null with a huge varint', msg(id, ld(15, ld(1, [...ld(1, 'k'), ...ld(2, [...tag(1, 0), ...Array(9).fill(0xff), 0x01])])))],
      ['Value null with an 11-byte varint', msg(id, ld(15, ld(1, [...ld(1, 'k'), ...ld(2, [...tag(1, 0), ...Array(10).fill(0xff), 0x01])])))],
      ['Value with an unknown field', msg(id, ld(15, ld(1, [...ld(1, 'k'), ...ld(2, [...tag(9, 0), 1, ...ld(3, 's')])])))],
      ['Struct with an unknown field', msg(id, ld(15, [...tag(9, 5), 1, 2, 3, 4, ...ld(1, [...ld(1, 'k'), ...ld(2, ld(3, 's'))])]))],
      ['map entry with an unknown field read as tags', ld(2, [...tag(3, 2), 0x0a, ...ld(1, 'k'), ...ld(2, 'v')])],
      ['metadata __proto__', [...msg(id), ...ld(2, [...ld(1, '__proto__'), ...ld(2, 'v')]), ...ld(2, [...ld(1, 'k'), ...ld(2, 'v')])]],
      ['metadata key repeated', [...msg(id), ...ld(2, [...ld(1, 'k'), ...ld(2, 'a')]), ...ld(2, [...ld(1, 'j'), ...ld(2, 'b')]), ...ld(2, [...ld(1, 'k'), ...ld(2, 'c')])]],
      ['metadata invalid UTF-8 key', [...msg(id), ...ld(2, [...ld(1, [0xff]), ...ld(2, 'v')])]],
      ['metadata integer-like keys', [...msg(id), ...ld(2, [...ld(1, 'b'), ...ld(2, '1')]), ...ld(2, [...ld(1, '2'), ...ld(2, '2')]), ...ld(2, [...ld(1, '1'), ...ld(2, '3')])]],
      ['id with a BOM', msg(ld(1, [0xef, 0xbb, 0xbf]))],
      ['id with a BOM then text', msg(ld(1, [0xef, 0xbb, 0xbf, 0x61]))],
      ['text with two BOMs and more than 16 bytes', msg(id, ld(2, [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, ...encoder.encode('0123456789abcdef')]))],
      ['custom key with a BOM', msg(id, ld(15, ld(1, [...ld(1, [0xef, 0xbb, 0xbf, 0x6b]), ...ld(2, ld(3, 's'))])))],
      ['surrogate encoded in UTF-8', msg(id, ld(2, [0xed, 0xa0, 0x80]))],
      ['overlong UTF-8', msg(id, ld(2, [0xc0, 0xaf]))],
      ['truncated UTF-8 at the end of a long string', msg(id, ld(2, [...encoder.encode('x'.repeat(30)), 0xe2, 0x82]))],
      ['custom key naming a typed field', msg(id, ld(2, 't'), ld(15, [...ld(1, [...ld(1, 'text'), ...ld(2, ld(3, 'no'))]), ...ld(1, [...ld(1, 'html'), ...ld(2, ld(3, 'kept? no'))])]))],
      ['custom key "custom"', msg(id, ld(15, ld(1, [...ld(1, 'custom'), ...ld(2, ld(4, [1]))])))],
      ['custom key __proto__ with an object', msg(id, ld(15, ld(1, [...ld(1, '__proto__'), ...ld(2, ld(5, ld(1, [...ld(1, 'polluted'), ...ld(2, ld(4, [1]))])))])))],
      ['repeated attachments and mentioned users, interleaved', msg(id, ld(9, ld(1, 'a')), ld(10, ld(1, 'u')), ld(9, []), ld(10, ld(2, 'n')))],
    ];
    for (const [label, body] of cases) comparison.protobuf(label, Uint8Array.from(body));
    comparison.assertSame();
  });

  it('recursion limits: nested Struct values, lists and unknown groups around the limit', () => {
    const comparison = new Comparison();
    const ld = (no: number, payload: number[]): number[] => [...varintBytes(no * 8 + 2), ...varintBytes(payload.length), ...payload];
    const request = (custom: number[], container = (struct: number[]) => ld(1, [...ld(1, [0x6d]), ...ld(15, struct)])) => container(custom);
    for (let levels = 40; levels <= 52; levels++) {
      // {"k": [[[ … null … ]]]}: each level a Value and a ListValue.
      let value = [0x08, 0x00];
      for (let i = 0; i < levels; i++) value = ld(6, ld(1, value));
      comparison.protobuf(`lists ${levels}`, Uint8Array.from(request(ld(1, [...ld(1, [0x6b]), ...ld(2, value)]))));
      // {"k": {"k": { … }}}: each level a Value and a Struct.
      let struct: number[] = [];
      for (let i = 0; i < levels; i++) struct = ld(1, [...ld(1, [0x6b]), ...ld(2, ld(5, struct))]);
      comparison.protobuf(`structs ${levels}`, Uint8Array.from(request(struct)));
      // The same inside an attachment (one level deeper).
      comparison.protobuf(
        `structs ${levels} in an attachment`,
        Uint8Array.from(request(struct, (s) => ld(1, [...ld(1, [0x6d]), ...ld(9, ld(8, s))]))),
      );
    }
    for (const levels of [95, 96, 97, 98, 99, 100, 101, 102, 1000]) {
      const open = varintBytes(99 * 8 + 3);
      const close = varintBytes(99 * 8 + 4);
      const groups = [...Array(levels).fill(open).flat(), ...Array(levels).fill(close).flat()];
      comparison.protobuf(`groups ${levels} at the top`, Uint8Array.from([...ld(1, [...ld(1, [0x6d])]), ...groups]));
      comparison.protobuf(`groups ${levels} in the message`, Uint8Array.from(ld(1, [...ld(1, [0x6d]), ...groups])));
    }
    comparison.assertSame();
    expect(comparison.count('payload')).toBeGreaterThan(10);
    expect(comparison.count('malformed_protobuf')).toBeGreaterThan(10);
  });

  it('a body that is a view into a larger buffer', () => {
    const comparison = new Comparison();
    const rand = seededRandom('views');
    for (let i = 0; i < 50; i++) {
      const body = bytesOf(randomRequest(rand, i));
      const big = new Uint8Array(body.length + 20).fill(0xff);
      big.set(body, 7);
      comparison.protobuf(`view ${i}`, big.subarray(7, 7 + body.length));
      comparison.protobuf(`view ${i} cut`, big.subarray(7, 7 + body.length - 1));
    }
    comparison.assertSame();
  });
});

// --- JSON ---

/** Proto name ⇄ JSON name of every field of the request and the messages it holds. */
const otherNames = new Map<string, string>();
(function collect(desc: DescMessage, seen: Set<DescMessage>) {
  if (seen.has(desc)) return;
  seen.add(desc);
  for (const field of desc.fields) {
    if (field.name !== field.jsonName) {
      otherNames.set(field.name, field.jsonName);
      otherNames.set(field.jsonName, field.name);
    }
    if (field.message && !field.message.typeName.startsWith('google.')) collect(field.message, seen);
  }
})(PendingMessageRequestSchema, new Set());

function jsonOf(request: ReturnType<typeof randomRequest>, protoNames: boolean): Record<string, unknown> {
  return JSON.parse(toJsonString(PendingMessageRequestSchema, request, { useProtoFieldName: protoNames })) as Record<string, unknown>;
}

/** Every object and array of a JSON tree. */
function containers(value: unknown, into: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (typeof value === 'object' && value !== null) {
    into.push(value as Record<string, unknown>);
    for (const item of Object.values(value)) containers(item, into);
  }
  return into;
}

function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A random JSON value of a type protobuf JSON may or may not accept where it lands. */
function randomAnyJson(rand: Random): unknown {
  return pick(rand, [
    () => null,
    () => randomString(rand),
    () => '\ud800 lone surrogate',
    () => 'ok \udc00',
    () => pick(rand, numberPool),
    () => rand() < 0.5,
    () => [],
    () => [null],
    () => [{}],
    () => [{ id: 'x' }, 5],
    () => ({}),
    () => ({ id: 'nested', text: 'x' }),
    () => randomJson(rand, 0, false),
    () => randomObject(rand, 0, false),
  ])();
}

function mutateJson(rand: Random, root: Record<string, unknown>): void {
  const objects = containers(root).filter((c): c is Record<string, unknown> => !Array.isArray(c));
  const target = pick(rand, objects);
  const keys = Object.keys(target);
  const key = keys.length > 0 ? pick(rand, keys) : pick(rand, keyPool);
  switch (int(rand, 9)) {
    case 0: // another value, of any type
      setOwn(target, key, randomAnyJson(rand));
      break;
    case 1: { // the other name of the field (proto ⇄ lowerCamelCase)
      const other = otherNames.get(key);
      if (other !== undefined) {
        const value = target[key];
        delete target[key];
        setOwn(target, other, value);
      }
      break;
    }
    case 2: { // both names: "set multiple times"
      const other = otherNames.get(key);
      if (other !== undefined) setOwn(target, other, rand() < 0.5 ? null : target[key]);
      break;
    }
    case 3: // unknown keys, __proto__ included
      setOwn(target, pick(rand, [...keyPool, 'unknownField', '[ext]', 'MESSAGE']), randomAnyJson(rand));
      break;
    case 4: // null
      setOwn(target, key, null);
      break;
    case 5:
      delete target[key];
      break;
    case 6: { // a whole message or list replaced
      const value = target[key];
      if (Array.isArray(value)) setOwn(target, key, rand() < 0.5 ? {} : [...value, rand() < 0.5 ? null : {}]);
      else if (typeof value === 'object' && value !== null) setOwn(target, key, rand() < 0.5 ? [value] : 'str');
      break;
    }
    case 7: { // the JSON names of fields used inside a Struct (custom keys stay as written)
      const other = otherNames.get(key);
      setOwn(target, other ?? key, target[key] ?? 1);
      break;
    }
    default: // deep values in a custom field
      if ('id' in target) {
        let deep: unknown = 1;
        for (let i = int(rand, 40); i > 0; i--) deep = rand() < 0.5 ? [deep] : { d: deep };
        setOwn(target, 'custom', { deep });
      }
  }
}

describe('compiled JSON reader ≡ payloadFromRequest(fromJson(...))', () => {
  it('realistic messages, with proto names and with lowerCamelCase names', () => {
    const comparison = new Comparison();
    const rand = seededRandom('realistic-json');
    for (let seed = 0; seed < 1500; seed++) {
      const request = randomRequest(rand, seed);
      comparison.jsonText(`seed ${seed} proto names`, toJsonString(PendingMessageRequestSchema, request, { useProtoFieldName: true }));
      comparison.jsonText(`seed ${seed} json names`, toJsonString(PendingMessageRequestSchema, request));
    }
    comparison.assertSame();
    expect(comparison.count('payload')).toBe(3000);
  });

  it('mutations: wrong types per field, mixed names, nulls, unknown and __proto__ keys, lone surrogates', () => {
    const comparison = new Comparison();
    const rand = seededRandom('json-mutations');
    for (let i = 0; i < 5000; i++) {
      const json = jsonOf(randomRequest(rand, i), rand() < 0.5);
      for (let n = 1 + int(rand, 4); n > 0; n--) mutateJson(rand, json);
      comparison.jsonText(`mutation ${i}`, JSON.stringify(json));
    }
    comparison.assertSame();
    expect(comparison.count('payload')).toBeGreaterThan(500);
    expect(comparison.count('malformed_json')).toBeGreaterThan(500);
    expect(comparison.count('invalid_payload')).toBeGreaterThan(20);
  });

  it('bytes: BOMs, invalid UTF-8, truncations, non-objects', () => {
    const comparison = new Comparison();
    const rand = seededRandom('json-bytes');
    const bom = [0xef, 0xbb, 0xbf];
    for (let i = 0; i < 400; i++) {
      const text = JSON.stringify(jsonOf(randomRequest(rand, i), rand() < 0.5));
      const body = Array.from(encoder.encode(text));
      comparison.json(`bom ${i}`, Uint8Array.from([...bom, ...body]));
      comparison.json(`two boms ${i}`, Uint8Array.from([...bom, ...bom, ...body]));
      const at = int(rand, body.length);
      const broken = body.slice();
      broken.splice(at, 0, pick(rand, [0xff, 0xc3, 0xed, 0x80]));
      comparison.json(`invalid utf-8 ${i}`, Uint8Array.from(broken));
      comparison.json(`cut ${i}`, Uint8Array.from(body.slice(0, at)));
    }
    for (const text of ['', ' ', '\n', '[]', '[{"message":{"id":"m"}}]', '"x"', '1', 'null', 'true', '{}', '{"message":null}',
      '{"message":{}}', '{"message":{"id":""}}', '{"message":{"id":null}}', '{"message":{"id":"m"}}', ' {"message":{"id":"m"}} ',
      '{"message":{"id":"m"},"message":{"id":""}}', '{"message":{"id":""},"message":{"id":"m"}}', '{"__proto__":{"id":"m"}}',
      '{"message":{"id":"m","__proto__":{"text":"x"}}}', '{"message":{"id":"m","custom":{"__proto__":{"a":1},"b":2}}}',
      '{"message":{"id":"m","custom":{"a":{"__proto__":[1],"b":2}}}}', '{"message":{"id":"m"},"metadata":{"__proto__":"x","k":"v"}}',
      '{"message":{"id":"m"},"metadata":{"__proto__":1}}', '{"message":{"id":"m"},"metadata":{"\\ud800":"v"}}',
      '{"message":{"id":"m"},"metadata":{"k":"\\udfff"}}', '{"message":{"id":"\\ud800"}}', '{"message":{"id":"m","custom":{"\\ud800":"\\udc00"}}}',
      '{"message":{"id":"m","parent_id":"p","parentId":null}}', '{"message":{"id":"m","user":null,"attachments":null,"custom":null}}',
      '{"message":{"id":"m","attachments":[null]}}', '{"message":{"id":"m","mentionedUsers":[[]]}}', '{"message":{"id":"m","user":[]}}',
      '{"message":{"id":"m","silent":0}}', '{"message":{"id":"m","silent":"false"}}', '{"message":{"id":"m","text":["x"]}}',
      '{"message":{"id":"m","custom":"x"}}', '{"message":{"id":"m","custom":{"id":"no","text":"no","parentId":"kept","custom":"kept"}}}',
      '{"message":{"id":"m","text":"t","custom":{"0":1,"b":2,"1":3,"a":4}}}', '{"message":{"id":"m"},"request_info":{},"requestInfo":null}',
      '{"message":{"id":"m"},"requestInfo":{"userAgent":"ua","user_agent":"ua"}}', '{"message":{"id":"m"},"requestInfo":[]}',
      '{"message":{"id":"m"},"metadata":[]}', '{"message":{"id":"m"},"metadata":"x"}', '{"message":{"id":"m"},"metadata":null}',
      '{"message":{"id":"m"},"metadata":{"k":null}}', '{"message":{"id":"m"},"unknown":{"deep":[1,2,{"x":null}]}}',
      '{"message":{"id":"m","user":{"id":null}}}', '{"message":{"id":"m","user":{}}}', '{"message":{"id":"m","attachments":[]}}',
      '{"message":{"id":"m","mentioned_users":[{"id":"u","custom":{"x":[]}}]}}', '{"message":{"id":"m","text":"\\u0000"}}',
      '{"message":{"id":"m","customs":1,"Custom":2}}', '{"message":{"id":"m","[pendingmessage.v1.ext]":1}}',
    ]) {
      comparison.jsonText(JSON.stringify(text), text);
    }
    comparison.assertSame();
  });

  it('an Object.prototype with enumerable keys (polluted) changes nothing', () => {
    const comparison = new Comparison();
    const rand = seededRandom('polluted');
    const bodies = Array.from({ length: 200 }, (_, i) => {
      const json = jsonOf(randomRequest(rand, i), rand() < 0.5);
      for (let n = int(rand, 3); n > 0; n--) mutateJson(rand, json);
      return JSON.stringify(json);
    });
    // Names the reference reads as own keys only (its message objects are read by local names).
    const names = ['parent_id', 'show_in_channel', 'request_info', 'image_url', 'polluted_key'];
    for (const name of names) Object.defineProperty(Object.prototype, name, { value: 'polluted', enumerable: true, configurable: true, writable: true });
    try {
      bodies.forEach((text, i) => comparison.jsonText(`polluted ${i}`, text));
    } finally {
      for (const name of names) delete (Object.prototype as Record<string, unknown>)[name];
    }
    comparison.assertSame();
    expect(comparison.count('payload')).toBeGreaterThan(20);
  });

  it('nesting: limits.maxJsonDepth and the recursion limit, around both', () => {
    const comparison = new Comparison();
    const inMessage = (inner: string) => `{"message":{"id":"m","custom":{"a":${inner}}}}`;
    const inAttachment = (inner: string) => `{"message":{"id":"m","attachments":[{"custom":{"a":${inner}}}]}}`;
    for (let levels = 90; levels <= 102; levels++) {
      for (const limit of [64, 100, 101, 102, 103, 10_000]) {
        const limits = { maxJsonDepth: limit };
        comparison.jsonText(`arrays ${levels} / ${limit}`, inMessage(`${'['.repeat(levels)}1${']'.repeat(levels)}`), limits);
        comparison.jsonText(`empty arrays ${levels} / ${limit}`, inMessage(`${'['.repeat(levels)}${']'.repeat(levels)}`), limits);
        comparison.jsonText(`objects ${levels} / ${limit}`, inMessage(`${'{"b":'.repeat(levels)}1${'}'.repeat(levels)}`), limits);
        comparison.jsonText(`empty objects ${levels} / ${limit}`, inMessage(`${'{"b":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`), limits);
        comparison.jsonText(`attachment ${levels} / ${limit}`, inAttachment(`${'['.repeat(levels)}null${']'.repeat(levels)}`), limits);
      }
    }
    // Around the bracket count under which Struct values are not walked (48: the text alone
    // proves they fit the recursion limit), with and without a `__proto__` key on the way.
    for (let levels = 40; levels <= 60; levels++) {
      comparison.jsonText(`shallow arrays ${levels}`, inMessage(`${'['.repeat(levels)}1${']'.repeat(levels)}`));
      comparison.jsonText(`shallow objects ${levels}`, inMessage(`${'{"b":'.repeat(levels)}1${'}'.repeat(levels)}`));
      comparison.jsonText(`shallow __proto__ ${levels}`, inMessage(`${'{"__proto__":'.repeat(levels)}{"x":1}${'}'.repeat(levels)}`));
    }
    comparison.jsonText('__proto__ in a custom field', '{"message":{"id":"m","text":"t","custom":{"__proto__":{"polluted":1},"text":"shadow","k":[1]}}}');
    comparison.jsonText('custom keys naming typed fields', '{"message":{"id":"m","text":"t","custom":{"text":"shadow","html":null,"k":[1]},"user":{"id":"u","custom":{"id":"x","name":"n"}}}}');
    comparison.jsonText('escaped __proto__ key', '{"message":{"id":"m","custom":{"\\u005f_proto__":{"polluted":1},"k":2}}}');
    for (const limit of [1, 2, 3, 4, 5, 6]) {
      comparison.jsonText(`small limit ${limit}`, '{"message":{"id":"m","custom":{"a":[{"b":1}]}},"metadata":{"k":"v"}}', { maxJsonDepth: limit });
    }
    comparison.assertSame();
    expect(comparison.count('payload')).toBeGreaterThan(50);
    expect(comparison.count('malformed_json')).toBeGreaterThan(50);
  });
});

// --- timings: printed for reference with BENCH=1, never asserted ---

describe('timings', () => {
  it.runIf(process.env.BENCH === '1')('prints ns/op of the compiled decoders and of the reference', () => {
    const requests = Array.from({ length: 64 }, (_, i) =>
      pendingMessageRequestFromBody(samplePayload(sampleMessage({}, `bench-${i}`), { seed: i })),
    );
    const protobufBodies = requests.map((request) => toBinary(PendingMessageRequestSchema, request));
    const jsonBodies = requests.map((request) => encoder.encode(toJsonString(PendingMessageRequestSchema, request, { useProtoFieldName: true })));
    const measure = (name: string, run: (i: number) => unknown) => {
      for (let i = 0; i < 5000; i++) run(i);
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 5; round++) {
        const start = process.hrtime.bigint();
        for (let i = 0; i < 20_000; i++) run(i);
        best = Math.min(best, Number(process.hrtime.bigint() - start) / 20_000);
      }
      console.log(`${name}: ${Math.round(best)} ns/op`);
    };
    measure('protobuf, compiled', (i) => decodeTwirpProtobuf(protobufBodies[i & 63]!));
    measure('protobuf, reference', (i) => referenceProtobuf(protobufBodies[i & 63]!));
    measure('JSON, compiled', (i) => decodeTwirpJson(jsonBodies[i & 63]!, defaultLimits));
    measure('JSON, reference', (i) => referenceJson(jsonBodies[i & 63]!, defaultLimits));
  });
});

describe('without code generation (--disallow-code-generation-from-strings)', () => {
  it('the Twirp JSON reader and the REST validator fall back and decode the same', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const src = fileURLToPath(new URL('../src/', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'ph-nocodegen-'));
    const rest: string[] = [];
    const twirp: string[] = [];
    for (let i = 0; i < 20; i++) {
      const payload = samplePayload(sampleMessage({}, `nocodegen:${i}`));
      rest.push(JSON.stringify(payload));
      const { created_at: createdAt, ...message } = payload.message;
      twirp.push(JSON.stringify({ message: { ...message, createdAt, custom: { k: [1, { b: i }], text: 'shadowed' } }, metadata: { s: 't' }, request_info: payload.request_info }));
    }
    writeFileSync(join(dir, 'bodies.json'), JSON.stringify({ rest, twirp }));
    const script = join(dir, 'decode.ts');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import { decodeTwirpJson } from ${JSON.stringify(`${src}transports/twirp/decode.ts`)};
import { decodeRestBody } from ${JSON.stringify(`${src}transports/rest/decode.ts`)};
const { rest, twirp } = JSON.parse(readFileSync(${JSON.stringify(join(dir, 'bodies.json'))}, 'utf8'));
let generated = true;
try { new Function('return 1'); } catch { generated = false; }
const limits = { maxJsonDepth: 64 };
const out = [generated, ...rest.map((b) => decodeRestBody(Buffer.from(b), limits)), ...twirp.map((b) => decodeTwirpJson(Buffer.from(b), limits))];
process.stdout.write(JSON.stringify(out));
`,
    );
    const run = (flags: string[]) => execFileSync(process.execPath, [...flags, '--import', 'tsx', script], { encoding: 'utf8' });
    const without = JSON.parse(run(['--disallow-code-generation-from-strings'])) as unknown[];
    const withCodegen = JSON.parse(run([])) as unknown[];
    expect([without[0], withCodegen[0]]).toEqual([false, true]);
    const restCount = 1 + 20;
    // REST: the same values (zod's output copy lists the schema's keys first).
    expect(without.slice(1, restCount)).toEqual(withCodegen.slice(1, restCount));
    // Twirp JSON: the same values in the same key order.
    expect(JSON.stringify(without.slice(restCount))).toBe(JSON.stringify(withCodegen.slice(restCount)));
    expect(without.slice(1).every((payload) => typeof payload === 'object' && payload !== null && 'message' in payload)).toBe(true);
  });
});
