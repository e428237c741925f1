import { isUtf8 } from 'node:buffer';
import { HookError } from '../../../core/hook-error.js';
import { decoderBug } from '../decoder-bug.js';
import { asBuffer } from '../../../core/as-buffer.js';
import type { DecodedPayload } from '../../../event/pending-message-event.js';
import type { PendingMessage, RequestInfo } from '../../../event/message-schema.js';
import {
  kindBool,
  kindMessage,
  kindMessageList,
  kindString,
  kindStringMap,
  kindStruct,
  plainObjects,
  type MessagePlan,
  type RequestPlan,
  type WktPlan,
} from './plan.js';

/*
 * A protobuf binary decoder compiled from a `RequestPlan`: it reads the wire format straight
 * into the REST-shaped payload, without protobuf-es message objects in between, and gives the
 * same result as `payloadFromRequest(fromBinary(...))` for every input, including the input
 * protobuf-es rejects. It mirrors protobuf-es 2's BinaryReader on purpose, quirks included:
 *
 * - the wire type of a known field is not checked: the field is read as its declared type;
 * - a field may run past the end of its enclosing message (only the buffer end is checked);
 * - varints: 32-bit reads take up to 10 bytes and keep the low 32 bits; tags must fit in 5;
 *   booleans are 64-bit varints; unknown varints are skipped however long they are;
 * - unknown fields of every wire type are skipped, groups with matching end tags under the
 *   remaining recursion budget; a stray end-group tag is an error;
 * - map entries: key 1 and value 2, any other field number is read as a tag and ignored
 *   (its payload is then parsed as tags, as protobuf-es does); missing parts are zero values;
 * - a message field seen twice is merged (scalars replaced, lists appended, Struct keys
 *   added or replaced); so are `struct_value` and `list_value` of one Value;
 * - strings: invalid UTF-8 is an error where `utf8Validation` is set, and a leading BOM is
 *   dropped (both as the TextDecoder protobuf-es uses);
 * - `__proto__` keys of a Struct or of `metadata` are dropped (protobuf-es stores them with
 *   an assignment, which sets the prototype instead of adding a key);
 * - every message, Struct, Value and ListValue counts one level towards the recursion limit.
 */

/** Thrown inside the decoder, turned into a HookError at its edge. Not an Error: no stack. */
class Malformed {
  constructor(readonly reason: string) {}
}

const noBytes = new Uint8Array(0);

// The decoder state: decoding is synchronous and not re-entrant.
let buf: Uint8Array = noBytes;
let pos = 0;
let len = 0;
let depth = 0;
let limit = 0;
let view: DataView | undefined;
/** `buf` as a Buffer, for its native UTF-8 slicing. */
let text: Buffer | undefined;
/*
 * Buffer's own UTF-8 slicer (what `toString('utf8', start, end)` calls after normalizing its
 * arguments; undocumented but present in every Node line we support), with the documented call
 * as a fallback.
 */
const utf8Slice: (this: Buffer, start: number, end: number) => string =
  (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer, start: number, end: number) => string }).utf8Slice ??
  function (this: Buffer, start: number, end: number) {
    return this.toString('utf8', start, end);
  };
let wkt: WktPlan;

type Slots = unknown[];
type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };
/** Where a Struct's entries go: a JSON object, or the entry list of a flattened Struct. */
type Entries = JsonValue[];

function malformed(reason: string): never {
  throw new Malformed(reason);
}

const prematureEof = 'premature EOF';

/** protobuf-es `varint32read` + `assertBounds`. */
function readVarint32(): number {
  if (pos >= len) malformed(prematureEof);
  let b = buf[pos++]!;
  let result = b & 0x7f;
  if (b < 0x80) return result;
  if (pos >= len) malformed(prematureEof);
  b = buf[pos++]!;
  result |= (b & 0x7f) << 7;
  if (b < 0x80) return result;
  if (pos >= len) malformed(prematureEof);
  b = buf[pos++]!;
  result |= (b & 0x7f) << 14;
  if (b < 0x80) return result;
  if (pos >= len) malformed(prematureEof);
  b = buf[pos++]!;
  result |= (b & 0x7f) << 21;
  if (b < 0x80) return result;
  if (pos >= len) malformed(prematureEof);
  b = buf[pos++]!;
  result |= (b & 0x0f) << 28;
  for (let read = 5; b >= 0x80 && read < 10; read++) {
    if (pos >= len) malformed(prematureEof);
    b = buf[pos++]!;
  }
  if (b >= 0x80) malformed('invalid varint');
  return result >>> 0;
}

/** protobuf-es `BinaryReader.tag()`: the tag as a number (`fieldNo << 3 | wireType`). */
function readTag(): number {
  const start = pos;
  const tag = readVarint32();
  const read = pos - start;
  if (read > 5 || (read === 5 && buf[pos - 1]! > 0x0f)) malformed('illegal tag: varint overflows uint32');
  if (tag >>> 3 === 0 || (tag & 7) > 5) malformed(`illegal tag: field no ${tag >>> 3} wire type ${tag & 7}`);
  return tag;
}

/** protobuf-es `BinaryReader.bool()`: a 64-bit varint, true when any bit is set. */
function readBool(): boolean {
  let lo = 0;
  let hi = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= len) malformed(prematureEof);
    b = buf[pos++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) return lo !== 0;
  }
  if (pos >= len) malformed(prematureEof);
  b = buf[pos++]!;
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x70) >> 4;
  if (b < 0x80) return lo !== 0 || hi !== 0;
  for (let shift = 3; shift <= 31; shift += 7) {
    if (pos >= len) malformed(prematureEof);
    b = buf[pos++]!;
    hi |= (b & 0x7f) << shift;
    if (b < 0x80) return lo !== 0 || hi !== 0;
  }
  return malformed('invalid varint');
}

/** protobuf-es `BinaryReader.double()`. */
function readDouble(): number {
  if (pos + 8 > len) malformed(prematureEof);
  view ??= new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const value = view.getFloat64(pos, true);
  pos += 8;
  return value;
}

/** protobuf-es `BinaryReader.string(strict)`. */
function readString(strict: boolean): string {
  const length = readVarint32();
  const start = pos;
  pos += length;
  if (pos > len) malformed(prematureEof);
  return stringAt(start, length, strict);
}

/** The `length` bytes at `start` (ending at `pos`) as text. */
function stringAt(start: number, length: number, strict: boolean): string {
  if (length <= 16) {
    // Short ASCII strings (ids, names, roles, keys) without a call into the TextDecoder.
    let text = '';
    for (let i = start; i < pos; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return decodeUtf8(start, strict);
      text += String.fromCharCode(c);
    }
    return text;
  }
  return decodeUtf8(start, strict);
}

/*
 * Keys (of Structs and of metadata) repeat from request to request: a small cache of their
 * decoded strings saves decoding them and, more, interning them again as property keys.
 */
const keyCacheSize = 1024;
const keyCacheBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(keyCacheSize);
const keyCacheStrings: string[] = new Array<string>(keyCacheSize).fill('');
const maxCachedKeyLength = 40;

/** A key: like `readString`, through the cache for short ASCII keys. */
function readKey(strict: boolean): string {
  const length = readVarint32();
  const start = pos;
  pos += length;
  if (pos > len) malformed(prematureEof);
  if (length < 2 || length > maxCachedKeyLength) return stringAt(start, length, strict);
  // A cheap hash of the length and four of the bytes; the bytes are then compared in full.
  const last = pos - 1;
  const mixed = buf[start]! | (buf[start + 1]! << 8) | (buf[last - 1]! << 16) | (buf[last]! << 24);
  const slot = (Math.imul(mixed ^ (length << 3) ^ (buf[start + (length >> 1)]! << 11), 0x9e3779b1) >>> 22) & (keyCacheSize - 1);
  const cached = keyCacheBytes[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached[i] === buf[start + i]) i++;
    // Only ASCII keys are cached, so equal bytes are ASCII too.
    if (i === length) return keyCacheStrings[slot]!;
  }
  for (let i = start; i < pos; i++) if (buf[i]! >= 0x80) return decodeUtf8(start, strict);
  const text = latin1(start);
  keyCacheBytes[slot] = buf.slice(start, pos);
  keyCacheStrings[slot] = text;
  return text;
}

/** ASCII bytes `start..pos` as a string. */
function latin1(start: number): string {
  return String.fromCharCode.apply(null, buf.subarray(start, pos) as unknown as number[]);
}

function decodeUtf8(start: number, strict: boolean): string {
  // Buffer's native UTF-8 slice, several times cheaper per call than TextDecoder; what the
  // TextDecoder adds is done here: validation when strict, and dropping a leading BOM.
  const from = pos - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf ? start + 3 : start;
  const decoded = utf8Slice.call(text!, from, pos);
  // Broken sequences come out as U+FFFD: only text that has one needs the full validation.
  if (strict && decoded.indexOf('\ufffd') !== -1 && !isUtf8(buf.subarray(start, pos))) return malformed('invalid UTF-8');
  return decoded;
}

/** protobuf-es `BinaryReader.skip()`; `budget` is the recursion budget left for groups. */
function skipField(wireType: number, fieldNo: number, budget: number): void {
  switch (wireType) {
    case 0:
      for (;;) {
        if (pos >= len) malformed(prematureEof);
        if (buf[pos++]! < 0x80) break;
      }
      break;
    case 1:
      pos += 8;
      break;
    case 5:
      pos += 4;
      break;
    case 2: {
      const length = readVarint32();
      pos += length;
      break;
    }
    case 3:
      if (budget <= 0) malformed('maximum recursion depth reached');
      for (;;) {
        const tag = readTag();
        if ((tag & 7) === 4) {
          if (tag >>> 3 !== fieldNo) malformed('invalid end group tag');
          break;
        }
        skipField(tag & 7, tag >>> 3, budget - 1);
      }
      break;
    default:
      malformed(`cannot skip wire type ${wireType}`);
  }
  if (pos > len) malformed(prematureEof);
}

function enter(typeName: string): void {
  if (++depth > limit) malformed(`cannot decode ${typeName} from binary: maximum recursion depth of ${limit} reached`);
}

/** Reads `length` bytes of a message into its slots (merging into what they hold). */
function readMessage(plan: MessagePlan, slots: Slots, length: number): void {
  enter(plan.typeName);
  const end = pos + length;
  const byNumber = plan.byNumber;
  while (pos < end) {
    const tag = readTag();
    const fieldNo = tag >>> 3;
    const field = fieldNo < byNumber.length ? byNumber[fieldNo] : undefined;
    if (field === undefined) {
      skipField(tag & 7, fieldNo, limit - depth);
      continue;
    }
    const index = field.index;
    switch (field.kind) {
      case kindString:
        slots[index] = readString(field.strictUtf8);
        break;
      case kindBool:
        slots[index] = readBool();
        break;
      case kindMessage: {
        const sub = field.message!;
        let value = slots[index] as Slots | undefined;
        if (value === undefined) slots[index] = value = new Array<unknown>(sub.fields.length);
        readMessage(sub, value, readVarint32());
        break;
      }
      case kindMessageList: {
        const sub = field.message!;
        const item = new Array<unknown>(sub.fields.length);
        readMessage(sub, item, readVarint32());
        const list = slots[index] as Slots[] | undefined;
        if (list === undefined) slots[index] = [item];
        else list.push(item);
        break;
      }
      case kindStruct: {
        // A flattened Struct: its entries, in order, as [key, value, key, value, ...]. Set
        // on the output in that order, they give what the Struct object gives: the same keys
        // in the same order, the last value of a repeated key.
        let entries = slots[index] as Entries | undefined;
        if (entries === undefined) slots[index] = entries = [];
        readStruct(entries, readVarint32());
        break;
      }
      case kindStringMap: {
        let map = slots[index] as Record<string, string> | undefined;
        if (map === undefined) slots[index] = map = {};
        readStringMapEntry(map, field.strictUtf8);
        break;
      }
    }
  }
  depth--;
}

/** protobuf-es `readMapEntry` for `map<string, string>`. */
function readStringMapEntry(map: Record<string, string>, strict: boolean): void {
  // The length first: `pos + readVarint32()` would add the position before the length.
  const length = readVarint32();
  const end = pos + length;
  let key = '';
  let value = '';
  while (pos < end) {
    const fieldNo = readTag() >>> 3;
    if (fieldNo === 1) key = readKey(strict);
    else if (fieldNo === 2) value = readString(strict);
  }
  if (key !== '__proto__') map[key] = value;
}

/** A `google.protobuf.Struct`, merged into `target` (an object, or an entry list). */
function readStruct(target: JsonObject | Entries, length: number): void {
  enter('google.protobuf.Struct');
  const end = pos + length;
  const fieldsNo = wkt.structFields;
  while (pos < end) {
    const tag = readTag();
    if (tag >>> 3 === fieldsNo) readStructEntry(target);
    else skipField(tag & 7, tag >>> 3, limit - depth);
  }
  depth--;
}

function readStructEntry(target: JsonObject | Entries): void {
  // The length first: `pos + readVarint32()` would add the position before the length.
  const length = readVarint32();
  const end = pos + length;
  let key = '';
  // A missing value is an empty Value: null.
  let value: JsonValue = null;
  while (pos < end) {
    const fieldNo = readTag() >>> 3;
    if (fieldNo === 1) key = readKey(wkt.structKeyStrictUtf8);
    else if (fieldNo === 2) value = readValue(readVarint32());
  }
  if (key === '__proto__') return;
  if (Array.isArray(target)) target.push(key, value);
  else target[key] = value;
}

/** Makes the objects of Struct values. */
const StructObject = plainObjects();

const kindNone = 0;
const kindStructValue = 1;
const kindListValue = 2;
const kindOther = 3;

/** A `google.protobuf.Value` as a plain JSON value (no kind set → null). */
function readValue(length: number): JsonValue {
  enter('google.protobuf.Value');
  const end = pos + length;
  let kind = kindNone;
  let value: JsonValue = null;
  while (pos < end) {
    const tag = readTag();
    const fieldNo = tag >>> 3;
    if (fieldNo === wkt.valueString) {
      value = readString(wkt.valueStringStrictUtf8);
      kind = kindOther;
    } else if (fieldNo === wkt.valueNumber) {
      value = readDouble();
      kind = kindOther;
    } else if (fieldNo === wkt.valueBool) {
      value = readBool();
      kind = kindOther;
    } else if (fieldNo === wkt.valueNull) {
      readVarint32();
      value = null;
      kind = kindOther;
    } else if (fieldNo === wkt.valueStruct) {
      // The same oneof member again merges into it; another member replaces it.
      const object: JsonObject = kind === kindStructValue ? (value as JsonObject) : (new StructObject() as JsonObject);
      readStruct(object, readVarint32());
      value = object;
      kind = kindStructValue;
    } else if (fieldNo === wkt.valueList) {
      const list: JsonValue[] = kind === kindListValue ? (value as JsonValue[]) : [];
      readListValue(list, readVarint32());
      value = list;
      kind = kindListValue;
    } else {
      skipField(tag & 7, fieldNo, limit - depth);
    }
  }
  depth--;
  return value;
}

/** A `google.protobuf.ListValue`, appended to `list`. */
function readListValue(list: JsonValue[], length: number): void {
  enter('google.protobuf.ListValue');
  const end = pos + length;
  const valuesNo = wkt.listValues;
  while (pos < end) {
    const tag = readTag();
    if (tag >>> 3 === valuesNo) list.push(readValue(readVarint32()));
    else skipField(tag & 7, tag >>> 3, limit - depth);
  }
  depth--;
}

/** The REST shape of a decoded message (see `message-convert.ts`). */
function convert(plan: MessagePlan, slots: Slots): Record<string, unknown> {
  const out = new plan.Output();
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = slots[i];
    switch (field.kind) {
      case kindString:
      case kindBool:
        if (value !== undefined) out[field.name] = value;
        else if (field.implicit) out[field.name] = field.zero;
        break;
      case kindMessage:
        if (value !== undefined) out[field.name] = convert(field.message!, value as Slots);
        break;
      case kindMessageList:
        if (value !== undefined) {
          const items = value as Slots[];
          const sub = field.message!;
          const converted = new Array<Record<string, unknown>>(items.length);
          for (let j = 0; j < items.length; j++) converted[j] = convert(sub, items[j]!);
          out[field.name] = converted;
        }
        break;
      // kindStruct: flattened below; kindStringMap only occurs on the request.
    }
  }
  const custom = plan.custom;
  if (custom !== undefined) {
    const entries = slots[custom.index] as Entries | undefined;
    if (entries !== undefined) {
      const typed = plan.typedNames;
      for (let i = 0; i < entries.length; i += 2) {
        const key = entries[i] as string;
        // Keys naming a typed field are dropped (`__proto__` never gets here).
        if (!typed.has(key)) out[key] = entries[i + 1];
      }
    }
  }
  return out;
}

/** Compiles the protobuf decoder of a request plan. */
export function compileBinaryDecoder(
  plan: RequestPlan,
  recursionLimit: number,
): (body: Uint8Array) => DecodedPayload | HookError {
  const request = plan.request;
  const messageIndex = plan.messageField.index;
  const messagePlan = plan.messageField.message!;
  const idIndex = plan.idField.index;
  const metadataIndex = plan.metadataField.index;
  const requestInfoIndex = plan.requestInfoField.index;
  const requestInfoPlan = plan.requestInfoField.message!;
  const failure = `the request body is not a valid ${plan.typeName} in protobuf`;
  const wktPlan = plan.wkt;

  return function decodeProtobuf(body: Uint8Array): DecodedPayload | HookError {
    const slots: Slots = new Array<unknown>(request.fields.length);
    try {
      buf = body;
      text = asBuffer(body);
      pos = 0;
      len = body.length;
      depth = 0;
      limit = recursionLimit;
      view = undefined;
      wkt = wktPlan;
      readMessage(request, slots, len);
    } catch (error) {
      if (error instanceof Malformed) return new HookError('malformed_protobuf', failure, error.reason);
      // Anything else is a bug, not the client's fault.
      return decoderBug('the compiled protobuf decoder', error);
    } finally {
      buf = noBytes;
      view = undefined;
      text = undefined;
    }
    const message = slots[messageIndex] as Slots | undefined;
    if (message === undefined || message[idIndex] === undefined || message[idIndex] === '') {
      return new HookError('invalid_payload', 'message.id is required');
    }
    const requestInfo = slots[requestInfoIndex] as Slots | undefined;
    try {
      return {
        message: convert(messagePlan, message) as PendingMessage,
        metadata: (slots[metadataIndex] as Record<string, string> | undefined) ?? {},
        requestInfo: requestInfo === undefined ? {} : (convert(requestInfoPlan, requestInfo) as RequestInfo),
      };
    } catch (error) {
      return decoderBug('the compiled protobuf decoder', error);
    }
  };
}
