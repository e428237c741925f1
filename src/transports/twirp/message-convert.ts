import {
  create,
  fromJson,
  protoInt64,
  ScalarType,
  toJson,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type MessageShape,
} from '@bufbuild/protobuf';
import { base64Decode, base64Encode } from '@bufbuild/protobuf/wire';
import { isWrapperDesc } from '@bufbuild/protobuf/wkt';
import type { DecisionAction } from '../../decision/decision.js';
import type { PendingMessage, PendingMessageBody, RequestInfo } from '../../event/message-schema.js';
import {
  Action,
  MessageSchema,
  PendingMessageRequestSchema,
  RequestInfoSchema,
  type Message as ProtoMessage,
  type PendingMessageRequest,
  type PendingMessageResponse,
  type RequestInfo as ProtoRequestInfo,
} from '../../gen/pendingmessage/v1/pending_message_pb.js';

/*
 * Protobuf ⇄ the REST shape, derived from the generated descriptors: no field is named here, so
 * a field added to the .proto is converted without an edit. The handler sees one message shape
 * whichever transport carried it: Stream's snake_case JSON object, as `message-schema.ts`
 * parses it. The rule (the fast decoders, `fast-decode/plan.ts`, follow the same one):
 *
 * - output keys are proto field names (snake_case), in declaration order;
 * - unset fields with explicit presence are omitted, implicit-presence scalars always appear;
 * - empty repeated fields and maps are omitted (proto3 cannot tell empty from absent);
 * - the `google.protobuf.Struct` field of a message (one at most; `custom` in our .proto) is
 *   flattened into its object after the typed fields; its keys that name a typed field, and
 *   `__proto__`, are dropped, so a typed field always has its declared type;
 * - values: strings, bools and 32-bit numbers as they are; other kinds (64-bit integers,
 *   bytes, enums, well-known types other than Struct) as protobuf JSON writes them.
 *
 * Going back, REST `null`s become unset fields and every untyped key goes into the Struct.
 * Converters are compiled once per message descriptor, at first use.
 */

const structTypeName = 'google.protobuf.Struct';

type Rest = Record<string, unknown>;
type Local = Record<string, unknown>;

interface FieldConverter {
  readonly name: string;
  /** The REST value of the field in a protobuf-es message; undefined to omit it. */
  readonly fromProto: (message: Local) => unknown;
  /** Sets the field of a protobuf-es init object from a (non-null) REST value. */
  readonly toProto: (init: Local, value: unknown) => void;
}

interface MessageConverter {
  readonly fields: readonly FieldConverter[];
  /** The flattened Struct field (its local name), if any. */
  readonly custom: string | undefined;
  /** Proto names of the typed (non-flattened) fields. */
  readonly typedNames: ReadonlySet<string>;
}

const converters = new WeakMap<DescMessage, MessageConverter>();

/** The flattened Struct field of a message: its only Struct field, if it has exactly one. */
export function flattenedStructField(desc: DescMessage): DescField | undefined {
  const structs = desc.fields.filter((field) => field.fieldKind === 'message' && field.message.typeName === structTypeName && !field.oneof);
  return structs.length === 1 ? structs[0] : undefined;
}

function converterFor(desc: DescMessage): MessageConverter {
  let converter = converters.get(desc);
  if (converter) return converter;
  const custom = flattenedStructField(desc);
  const fields: FieldConverter[] = [];
  converter = {
    fields,
    custom: custom?.localName,
    typedNames: new Set(desc.fields.filter((field) => field !== custom).map((field) => field.name)),
  };
  // Set before the fields compile: messages may be recursive.
  converters.set(desc, converter);
  for (const field of desc.fields) if (field !== custom) fields.push(fieldConverter(field));
  return converter;
}

/** A message of type `desc` (a protobuf-es message) in the REST shape. */
export function restFromProto(desc: DescMessage, message: Message): Rest {
  const converter = converterFor(desc);
  const local = message as unknown as Local;
  const out: Rest = {};
  for (const field of converter.fields) {
    const value = field.fromProto(local);
    if (value !== undefined) out[field.name] = value;
  }
  if (converter.custom !== undefined) flattenCustom(out, local[converter.custom] as JsonObject | undefined, converter.typedNames);
  return out;
}

/** A REST-shaped object as a protobuf-es message of type `desc`: untyped keys go into its Struct. */
export function restToProto<Desc extends DescMessage>(desc: Desc, rest: Rest): MessageShape<Desc> {
  const converter = converterFor(desc);
  const init: Local = {};
  for (const field of converter.fields) {
    const value = rest[field.name];
    // `null` is Go's encoding of an absent value: unset.
    if (value !== undefined && value !== null) field.toProto(init, value);
  }
  if (converter.custom !== undefined) {
    const custom = collectCustom(rest, converter.typedNames);
    if (custom !== undefined) init[converter.custom] = custom;
  }
  return create(desc, init as never);
}

/** Copies the own keys of `custom` that are not typed fields into `target`. */
function flattenCustom(target: Rest, custom: JsonObject | undefined, typedNames: ReadonlySet<string>): void {
  if (custom === undefined) return;
  for (const key of Object.keys(custom)) {
    // `__proto__` would replace target's prototype instead of adding a field.
    if (typedNames.has(key) || key === '__proto__') continue;
    target[key] = custom[key];
  }
}

/** The untyped keys of a REST object as a Struct, or undefined when there are none. */
function collectCustom(source: Rest, typedNames: ReadonlySet<string>): JsonObject | undefined {
  let custom: JsonObject | undefined;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (typedNames.has(key) || value === undefined) continue;
    // Values came from JSON, so they are JSON values.
    (custom ??= {})[key] = value as JsonValue;
  }
  return custom;
}

function fieldConverter(field: DescField): FieldConverter {
  const localName = field.localName;
  const oneof = field.oneof;
  // The local value: a oneof member is `{ case, value }` under the oneof's name.
  const get: (message: Local) => unknown = oneof
    ? (message) => {
        const selected = message[oneof.localName] as { case: string | undefined; value?: unknown };
        return selected.case === localName ? selected.value : undefined;
      }
    : (message) => message[localName];
  const set: (init: Local, value: unknown) => void = oneof
    ? (init, value) => {
        init[oneof.localName] = { case: localName, value };
      }
    : (init, value) => {
        init[localName] = value;
      };
  switch (field.fieldKind) {
    case 'scalar':
    case 'enum': {
      const out = field.fieldKind === 'enum' ? enumOut(field) : scalarOut(field.scalar);
      const into = field.fieldKind === 'enum' ? enumIn(field) : scalarIn(field.scalar, field.longAsString);
      return {
        name: field.name,
        // Implicit presence: the zero value protobuf-es holds is the value.
        fromProto: (message) => {
          const value = get(message);
          return value === undefined ? undefined : out(value);
        },
        toProto: (init, value) => set(init, into(value)),
      };
    }
    case 'message': {
      const desc = field.message;
      const out = messageOut(desc, !oneof);
      const into = messageIn(desc, !oneof);
      return {
        name: field.name,
        fromProto: (message) => {
          const value = get(message);
          return value === undefined ? undefined : out(value);
        },
        toProto: (init, value) => set(init, into(value)),
      };
    }
    case 'list': {
      const out =
        field.listKind === 'message' ? messageOut(field.message, false) : field.listKind === 'enum' ? enumOut(field) : scalarOut(field.scalar);
      const into =
        field.listKind === 'message'
          ? messageIn(field.message, false)
          : field.listKind === 'enum'
            ? enumIn(field)
            : scalarIn(field.scalar, field.longAsString);
      return {
        name: field.name,
        fromProto: (message) => {
          const list = message[localName] as unknown[];
          return list.length === 0 ? undefined : list.map(out);
        },
        toProto: (init, value) => {
          init[localName] = (value as unknown[]).map(into);
        },
      };
    }
    case 'map': {
      const out = field.mapKind === 'message' ? messageOut(field.message, false) : field.mapKind === 'enum' ? enumOut(field) : scalarOut(field.scalar);
      const into =
        field.mapKind === 'message'
          ? messageIn(field.message, false)
          : field.mapKind === 'enum'
            ? enumIn(field)
            : scalarIn(field.scalar, false);
      return {
        name: field.name,
        fromProto: (message) => {
          const map = message[localName] as Record<string, unknown>;
          const keys = Object.keys(map);
          if (keys.length === 0) return undefined;
          const object: Rest = {};
          for (const key of keys) if (key !== '__proto__') object[key] = out(map[key]);
          return object;
        },
        toProto: (init, value) => {
          const map: Local = {};
          for (const [key, item] of Object.entries(value as Rest)) if (key !== '__proto__') map[key] = into(item);
          init[localName] = map;
        },
      };
    }
  }
}

/** A scalar's REST value: 64-bit integers as decimal strings and bytes as base64 (protobuf JSON). */
function scalarOut(scalar: ScalarType): (value: unknown) => unknown {
  switch (scalar) {
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return (value) => String(value);
    case ScalarType.BYTES:
      return (value) => base64Encode(value as Uint8Array);
    default:
      return (value) => value;
  }
}

function scalarIn(scalar: ScalarType, longAsString: boolean): (value: unknown) => unknown {
  switch (scalar) {
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return (value) => (longAsString ? protoInt64.parse(value as string).toString() : protoInt64.parse(value as string));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return (value) => (longAsString ? protoInt64.uParse(value as string).toString() : protoInt64.uParse(value as string));
    case ScalarType.BYTES:
      return (value) => (typeof value === 'string' ? base64Decode(value) : value);
    default:
      return (value) => value;
  }
}

/** An enum's REST value: its name, or the number when this version does not know it (protobuf JSON). */
function enumOut(field: DescField): (value: unknown) => unknown {
  const desc = field.enum!;
  return (value) => desc.value[value as number]?.name ?? value;
}

function enumIn(field: DescField): (value: unknown) => unknown {
  const desc = field.enum!;
  return (value) => (typeof value === 'string' ? (desc.values.find((v) => v.name === value)?.number ?? 0) : value);
}

/**
 * A message value's REST shape. protobuf-es holds a Struct field as a JSON object and a singular
 * wrapper field (`google.protobuf.StringValue`, …) as its primitive; other well-known types are
 * written as protobuf JSON (a Timestamp as RFC 3339 text, …), our own messages recursively.
 */
function messageOut(desc: DescMessage, unwrapsWrappers: boolean): (value: unknown) => unknown {
  if (desc.typeName === structTypeName) return (value) => value;
  if (unwrapsWrappers && isWrapperDesc(desc)) return scalarOut(desc.fields[0]!.scalar!);
  if (desc.file.name.startsWith('google/protobuf/')) return (value) => toJson(desc, value as never);
  return (value) => restFromProto(desc, value as Message);
}

function messageIn(desc: DescMessage, unwrapsWrappers: boolean): (value: unknown) => unknown {
  if (desc.typeName === structTypeName) return (value) => value;
  if (unwrapsWrappers && isWrapperDesc(desc)) return scalarIn(desc.fields[0]!.scalar!, false);
  if (desc.file.name.startsWith('google/protobuf/')) return (value) => fromJson(desc, value as JsonValue);
  return (value) => restToProto(desc, value as Rest);
}

// --- the messages of our .proto ---

/** A protobuf `Message` in the shape the REST schema gives (see the note at the top). */
export function pendingMessageFromProto(message: ProtoMessage): PendingMessage {
  return restFromProto(MessageSchema, message) as PendingMessage;
}

/** A protobuf `RequestInfo` (or its absence) in the REST shape. */
export function requestInfoFromProto(info: ProtoRequestInfo | undefined): RequestInfo {
  return info === undefined ? {} : (restFromProto(RequestInfoSchema, info) as RequestInfo);
}

// --- REST shape → protobuf (the emulator and tests send what Stream would send) ---

/** A REST-shaped message as a protobuf `Message`: untyped keys go into `custom`. */
export function pendingMessageToProto(message: PendingMessage): ProtoMessage {
  return restToProto(MessageSchema, message);
}

export function requestInfoToProto(info: RequestInfo): ProtoRequestInfo {
  return restToProto(RequestInfoSchema, info);
}

/**
 * A REST callback body (what Stream POSTs in the REST mode) as the Twirp request carrying
 * the same callback. Fields of the body other than `message`, `metadata` and `request_info`
 * have no place in the request and are dropped.
 */
export function pendingMessageRequestFromBody(
  body: Pick<PendingMessageBody, 'message' | 'metadata' | 'request_info'>,
): PendingMessageRequest {
  return restToProto(PendingMessageRequestSchema, {
    message: body.message,
    metadata: body.metadata,
    request_info: body.request_info,
  });
}

// --- Actions ---

const actionToProtoTable = {
  commit: Action.COMMIT,
  delete: Action.DELETE,
  keep_pending: Action.KEEP_PENDING,
} as const satisfies Record<DecisionAction, Action>;

export function actionToProto(action: DecisionAction): Action {
  return actionToProtoTable[action];
}

/**
 * The decision an `Action` names; undefined for `ACTION_UNSPECIFIED` and for numbers this
 * version does not know (proto3 enums are open: a newer server may send them).
 */
export function actionFromProto(action: Action | number): DecisionAction | undefined {
  switch (action) {
    case Action.COMMIT:
      return 'commit';
    case Action.DELETE:
      return 'delete';
    case Action.KEEP_PENDING:
      return 'keep_pending';
    default:
      return undefined;
  }
}

/** A `PendingMessageResponse` as Stream (or the emulator) reads it. */
export interface TwirpPassOnAnswer {
  /** The applied decision; undefined when ack-first or the action is unknown. */
  readonly action: DecisionAction | undefined;
  /** The raw enum number, to report unknown actions. */
  readonly actionNumber: number;
  readonly reason: string | undefined;
  readonly timedOut: boolean;
  readonly accepted: boolean;
}

export function passOnAnswerFromProto(response: PendingMessageResponse): TwirpPassOnAnswer {
  return {
    action: actionFromProto(response.action),
    actionNumber: response.action,
    reason: response.reason === '' ? undefined : response.reason,
    timedOut: response.timedOut,
    accepted: response.accepted,
  };
}
