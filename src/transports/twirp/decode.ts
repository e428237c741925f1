import { isUtf8 } from 'node:buffer';
import { fromBinary, fromJson, type DescMessage, type JsonValue, type Message } from '@bufbuild/protobuf';
import { asBuffer } from '../../core/as-buffer.js';
import { isWellFormed } from '../../event/message-id.js';
import { HookError } from '../../core/hook-error.js';
import type { PendingMessage, RequestInfo } from '../../event/message-schema.js';
import type { DecodedPayload } from '../../event/pending-message-event.js';
import {
  PendingMessageRequestSchema,
  type PendingMessageRequest,
} from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { DecodeLimits } from '../codec.js';
import { jsonTextNestsDeeperThan } from '../json-depth.js';
import { decoderBug } from './decoder-bug.js';
import { compileFastTwirpDecoders } from './fast-decode/index.js';
import type { UnsupportedField } from './fast-decode/plan.js';
import { restFromProto } from './message-convert.js';

/*
 * Decoders of a verified Twirp request body. Every failure comes back as a HookError value:
 * whatever the bytes, these functions neither throw nor recurse without bound. Malformed input
 * is `malformed_*` / `invalid_payload`; an exception nobody expected (a bug) is `internal`.
 *
 * Everything here is derived from the request's descriptor (`createTwirpDecoders`), the
 * generated `PendingMessageRequestSchema` for the module's exports: a field added to the .proto
 * reaches the payload without an edit here. The hot path uses decoders compiled at load from
 * the descriptors (`fast-decode/`), which give the same payloads and errors as protobuf-es
 * followed by `payloadFromRequest` at a fraction of the cost. Should the schema use a kind of
 * field they do not compile, protobuf-es decodes instead, and `warnTwirpSlowPathOnce` says so
 * (once, when a Twirp transport is created) naming each field and its kind.
 */

/**
 * How deep protobuf messages may nest. protobuf-es refuses deeper input with an error
 * instead of exhausting the stack. Each level of a JSON object or array inside a `custom`
 * Struct costs two (Struct or ListValue, then Value).
 */
export const protobufRecursionLimit = 100;

const binaryReadOptions = { readUnknownFields: false, recursionLimit: protobufRecursionLimit };
// protobuf-es counts messages, Structs and Values for JSON too; 100 is also its default.
const jsonReadOptions = { ignoreUnknownFields: true, recursionLimit: protobufRecursionLimit };

/** The decoders of one request schema (see {@link createTwirpDecoders}). */
export interface TwirpDecoders {
  /** Decodes an `application/protobuf` body. */
  readonly protobuf: (body: Uint8Array) => DecodedPayload | HookError;
  /**
   * Decodes an `application/json` body (protobuf JSON: proto field names or lowerCamelCase;
   * unknown fields ignored). Nesting is checked on the bytes before anything parses them.
   */
  readonly json: (body: Uint8Array, limits: DecodeLimits) => DecodedPayload | HookError;
  /** {@link TwirpDecoders.protobuf} through protobuf-es: the reference the fast decoder matches. */
  readonly protobufWithProtobufEs: (body: Uint8Array) => DecodedPayload | HookError;
  /** {@link TwirpDecoders.json} through protobuf-es: the reference the fast reader matches. */
  readonly jsonWithProtobufEs: (body: Uint8Array, limits: DecodeLimits) => DecodedPayload | HookError;
  /** Validates a decoded request (a protobuf-es message of the schema) and converts it to the REST shape. */
  readonly payloadFromRequest: (request: Message) => DecodedPayload | HookError;
  /** Why the compiled decoders are not used (protobuf-es decodes instead); undefined when they are. */
  readonly fastDecoderFallback: string | undefined;
  /** The fields the compiled decoders do not support (their kind named), when that is the reason. */
  readonly unsupportedFields: readonly UnsupportedField[];
}

/**
 * The Twirp decoders of a request schema shaped like `PendingMessageRequest` (`message` with an
 * `id`, `metadata`, `request_info`), derived from its descriptor alone. Tests build them from a
 * changed copy of the descriptor to show that a new field needs no edit.
 */
export function createTwirpDecoders(schema: DescMessage): TwirpDecoders {
  const typeName = schema.typeName;
  const messageField = schema.fields.find((field) => field.localName === 'message');
  const metadataField = schema.fields.find((field) => field.localName === 'metadata');
  const requestInfoField = schema.fields.find((field) => field.localName === 'requestInfo');
  if (messageField?.fieldKind !== 'message' || metadataField?.fieldKind !== 'map' || requestInfoField?.fieldKind !== 'message') {
    throw new TypeError(`${typeName} is not shaped like a pending-message request (message, metadata, request_info)`);
  }
  const messageDesc = messageField.message;
  const requestInfoDesc = requestInfoField.message;

  function payloadFromRequest(request: Message): DecodedPayload | HookError {
    const local = request as unknown as Record<string, unknown>;
    const message = local.message as (Message & { id?: unknown }) | undefined;
    if (message === undefined || message.id === '' || message.id === undefined) {
      return new HookError('invalid_payload', 'message.id is required');
    }
    try {
      const requestInfo = local.requestInfo as Message | undefined;
      return {
        message: restFromProto(messageDesc, message) as PendingMessage,
        // A fresh object from the decoder: no copy needed.
        metadata: local.metadata as Record<string, string>,
        requestInfo: requestInfo === undefined ? {} : (restFromProto(requestInfoDesc, requestInfo) as RequestInfo),
      };
    } catch (error) {
      return decoderBug('the conversion of a decoded request', error);
    }
  }

  function protobufWithProtobufEs(body: Uint8Array): DecodedPayload | HookError {
    let request: Message;
    try {
      request = fromBinary(schema, body, binaryReadOptions);
    } catch (error) {
      return new HookError('malformed_protobuf', `the request body is not a valid ${typeName} in protobuf`, describe(error));
    }
    return payloadFromRequest(request);
  }

  function requestFromJsonWithProtobufEs(json: Record<string, unknown>): DecodedPayload | HookError {
    let request: Message;
    try {
      request = fromJson(schema, json as JsonValue, jsonReadOptions);
    } catch (error) {
      return new HookError('malformed_json', `the request body is not a valid ${typeName} in protobuf JSON`, describe(error));
    }
    return payloadFromRequest(request);
  }

  function jsonWithProtobufEs(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
    const text = jsonBodyText(body);
    if (text instanceof HookError) return text;
    if (jsonTextNestsDeeperThan(text, body, limits.maxJsonDepth)) return tooDeep(limits);
    const json = parseJsonObject(text);
    if (json instanceof HookError) return json;
    if (idHasLoneSurrogate(json)) return loneSurrogateId;
    return requestFromJsonWithProtobufEs(json);
  }

  const fast = compileFastTwirpDecoders(schema, {
    binaryRecursionLimit: binaryReadOptions.recursionLimit,
    jsonRecursionLimit: jsonReadOptions.recursionLimit,
  });
  if ('unsupported' in fast) {
    return {
      protobuf: protobufWithProtobufEs,
      json: jsonWithProtobufEs,
      protobufWithProtobufEs,
      jsonWithProtobufEs,
      payloadFromRequest,
      fastDecoderFallback: fast.unsupported,
      unsupportedFields: fast.fields,
    };
  }
  const fastJson = fast.json;
  return {
    protobuf: fast.protobuf,
    json(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
      const text = jsonBodyText(body);
      if (text instanceof HookError) return text;
      if (jsonTextNestsDeeperThan(text, body, limits.maxJsonDepth)) return tooDeep(limits);
      const json = parseJsonObject(text);
      if (json instanceof HookError) return json;
      // A lone surrogate can only come from a `\u` escape (the text is valid UTF-8): without one,
      // the reader can skip checking every string for them.
      const escaped = hasUnicodeEscape(text);
      if (escaped && idHasLoneSurrogate(json)) return loneSurrogateId;
      return fastJson(json, escaped);
    },
    protobufWithProtobufEs,
    jsonWithProtobufEs,
    payloadFromRequest,
    fastDecoderFallback: undefined,
    unsupportedFields: [],
  };
}

/**
 * protobuf-es refuses any string with a lone surrogate as malformed; in `message.id` the
 * contract calls it what it is, an id that cannot be a Stream id (as REST does).
 */
const loneSurrogateId = new HookError('invalid_payload', 'message.id contains a lone surrogate (not valid Unicode)');

function idHasLoneSurrogate(json: Record<string, unknown>): boolean {
  const message = json.message;
  if (typeof message !== 'object' || message === null) return false;
  const id = (message as Record<string, unknown>).id;
  return typeof id === 'string' && !isWellFormed(id);
}

/** The body as JSON text (valid UTF-8, no byte order mark), or the error it deserves. */
function jsonBodyText(body: Uint8Array): string | HookError {
  if (body.byteLength === 0) return new HookError('malformed_json', 'the request body is empty');
  const text = asBuffer(body).toString('utf8');
  // Protobuf JSON must be valid UTF-8: toString replaces broken sequences with U+FFFD, so only
  // text that has one needs the full check.
  if (text.indexOf('\ufffd') !== -1 && !isUtf8(body)) return new HookError('malformed_json', 'the request body is not valid JSON', 'invalid UTF-8');
  // As in REST (JSON.parse), and as protobuf-es and Go's encoding/json do: a BOM is not JSON.
  if (text.charCodeAt(0) === 0xfeff) return new HookError('malformed_json', 'the request body is not valid JSON', 'a byte order mark');
  return text;
}

/** True when the JSON text has a `\\u` escape (a backslash that is itself escaped does not count). */
function hasUnicodeEscape(text: string): boolean {
  // Backslashes are rare in JSON text: one native search per backslash.
  for (let i = text.indexOf('\\'); i !== -1; i = text.indexOf('\\', i + 2)) {
    if (text.charCodeAt(i + 1) === 0x75 /* u */) return true;
  }
  return false;
}

function tooDeep(limits: DecodeLimits): HookError {
  return new HookError('malformed_json', `the request body nests deeper than ${limits.maxJsonDepth} levels`);
}

/** The text parsed as a JSON object, or the error it deserves. */
function parseJsonObject(text: string): Record<string, unknown> | HookError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return new HookError('malformed_json', 'the request body is not valid JSON', describe(error));
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return new HookError('invalid_payload', 'the request body must be a JSON object');
  }
  return json as Record<string, unknown>;
}


function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- the decoders of our .proto ---

const decoders = createTwirpDecoders(PendingMessageRequestSchema);

/** Why the compiled decoders are not used (protobuf-es decodes instead); undefined when they are. */
export const fastDecoderFallback: string | undefined = decoders.fastDecoderFallback;

/** Decodes an `application/protobuf` body. */
export const decodeTwirpProtobuf: (body: Uint8Array) => DecodedPayload | HookError = decoders.protobuf;

/** {@link decodeTwirpProtobuf} through protobuf-es: the reference the fast decoder matches. */
export const decodeTwirpProtobufWithProtobufEs: (body: Uint8Array) => DecodedPayload | HookError = decoders.protobufWithProtobufEs;

/**
 * Decodes an `application/json` body (protobuf JSON: proto field names or lowerCamelCase;
 * unknown fields ignored). Nesting is checked on the bytes before anything parses them.
 */
export const decodeTwirpJson: (body: Uint8Array, limits: DecodeLimits) => DecodedPayload | HookError = decoders.json;

/** {@link decodeTwirpJson} through protobuf-es: the reference the fast reader matches. */
export const decodeTwirpJsonWithProtobufEs: (body: Uint8Array, limits: DecodeLimits) => DecodedPayload | HookError =
  decoders.jsonWithProtobufEs;

/** Validates a decoded request and converts it to the REST shape the handler sees. */
export const payloadFromRequest: (request: PendingMessageRequest) => DecodedPayload | HookError = decoders.payloadFromRequest;

/** A logger with pino's `warn(object, message)`. */
export interface WarnLogger {
  warn(object: Record<string, unknown>, message: string): void;
}

let warned = false;

/**
 * Says once per process, when a Twirp transport is created, that the compiled decoders do not
 * serve this schema and why: each field of a kind they do not support, named with its kind.
 * Through `logger` when given, else as a Node process warning (`PENDING_HOOKS_TWIRP_SLOW_DECODE`).
 * Returns whether it warned now.
 */
export function warnTwirpSlowPathOnce(logger?: WarnLogger, from: TwirpDecoders = decoders): boolean {
  if (from === decoders && warned) return false;
  if (from.fastDecoderFallback === undefined) return false;
  if (from === decoders) warned = true;
  const message =
    `pending-hooks: Twirp requests are decoded with protobuf-es (about 5× slower) because ${from.fastDecoderFallback}. ` +
    'Teach src/transports/twirp/fast-decode/plan.ts (and both fast decoders) that kind, or change the field.';
  const fields = from.unsupportedFields.map(({ field, kind }) => ({ field, kind }));
  if (logger) logger.warn({ fields }, message);
  else process.emitWarning(message, { code: 'PENDING_HOOKS_TWIRP_SLOW_DECODE', detail: fields.map((f) => `${f.field}: ${f.kind}`).join('\n') });
  return true;
}
