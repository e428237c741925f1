import { isUtf8 } from 'node:buffer';
import { fromBinary, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { asBuffer } from '../../core/as-buffer.js';
import { isWellFormed } from '../../event/message-id.js';
import { HookError } from '../../core/hook-error.js';
import type { DecodedPayload } from '../../event/pending-message-event.js';
import {
  PendingMessageRequestSchema,
  type PendingMessageRequest,
} from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { DecodeLimits } from '../codec.js';
import { jsonTextNestsDeeperThan } from '../json-depth.js';
import { compileFastTwirpDecoders } from './fast-decode.js';
import { pendingMessageFromProto, requestInfoFromProto } from './message-convert.js';

/*
 * Decoders of a verified Twirp request body. Every failure comes back as a HookError value:
 * whatever the bytes, these functions neither throw nor recurse without bound.
 *
 * The hot path uses decoders compiled at load from the generated descriptors
 * (`fast-decode.ts`), which give the same payloads and errors as protobuf-es followed by
 * `payloadFromRequest` at a fraction of the cost. Should the schema ever use a feature they do
 * not compile, `fastDecoderFallback` says why and protobuf-es decodes instead.
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

const requestTypeName = PendingMessageRequestSchema.typeName;

const fast = compileFastTwirpDecoders(PendingMessageRequestSchema, {
  binaryRecursionLimit: binaryReadOptions.recursionLimit,
  jsonRecursionLimit: jsonReadOptions.recursionLimit,
});
const fastProtobuf = 'unsupported' in fast ? undefined : fast.protobuf;
const fastJson = 'unsupported' in fast ? undefined : fast.json;

/** Why the compiled decoders are not used (protobuf-es decodes instead); undefined when they are. */
export const fastDecoderFallback: string | undefined = 'unsupported' in fast ? fast.unsupported : undefined;

/** Decodes an `application/protobuf` body. */
export function decodeTwirpProtobuf(body: Uint8Array): DecodedPayload | HookError {
  return fastProtobuf === undefined ? decodeTwirpProtobufWithProtobufEs(body) : fastProtobuf(body);
}

/** {@link decodeTwirpProtobuf} through protobuf-es: the reference the fast decoder matches. */
export function decodeTwirpProtobufWithProtobufEs(body: Uint8Array): DecodedPayload | HookError {
  let request: PendingMessageRequest;
  try {
    request = fromBinary(PendingMessageRequestSchema, body, binaryReadOptions);
  } catch (error) {
    return new HookError(
      'malformed_protobuf',
      `the request body is not a valid ${requestTypeName} in protobuf`,
      describe(error),
    );
  }
  return payloadFromRequest(request);
}

/**
 * Decodes an `application/json` body (protobuf JSON: proto field names or lowerCamelCase;
 * unknown fields ignored). Nesting is checked on the bytes before anything parses them.
 */
export function decodeTwirpJson(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
  const text = jsonBodyText(body);
  if (text instanceof HookError) return text;
  if (jsonTextNestsDeeperThan(text, body, limits.maxJsonDepth)) return tooDeep(limits);
  const json = parseJsonObject(text);
  if (json instanceof HookError) return json;
  // A lone surrogate can only come from a `\u` escape (the text is valid UTF-8): without one,
  // the reader can skip checking every string for them.
  const escaped = hasUnicodeEscape(text);
  if (escaped && idHasLoneSurrogate(json)) return loneSurrogateId;
  if (fastJson === undefined) return requestFromJsonWithProtobufEs(json);
  return fastJson(json, escaped);
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

/** {@link decodeTwirpJson} through protobuf-es: the reference the fast reader matches. */
export function decodeTwirpJsonWithProtobufEs(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
  const text = jsonBodyText(body);
  if (text instanceof HookError) return text;
  if (jsonTextNestsDeeperThan(text, body, limits.maxJsonDepth)) return tooDeep(limits);
  const json = parseJsonObject(text);
  if (json instanceof HookError) return json;
  if (idHasLoneSurrogate(json)) return loneSurrogateId;
  return requestFromJsonWithProtobufEs(json);
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

function requestFromJsonWithProtobufEs(json: Record<string, unknown>): DecodedPayload | HookError {
  let request: PendingMessageRequest;
  try {
    request = fromJson(PendingMessageRequestSchema, json as JsonValue, jsonReadOptions);
  } catch (error) {
    return new HookError(
      'malformed_json',
      `the request body is not a valid ${requestTypeName} in protobuf JSON`,
      describe(error),
    );
  }
  return payloadFromRequest(request);
}

/** Validates a decoded request and converts it to the REST shape the handler sees. */
export function payloadFromRequest(request: PendingMessageRequest): DecodedPayload | HookError {
  const message = request.message;
  if (message === undefined || message.id === '') {
    return new HookError('invalid_payload', 'message.id is required');
  }
  return {
    message: pendingMessageFromProto(message),
    // A fresh object from the decoder: no copy needed.
    metadata: request.metadata,
    requestInfo: requestInfoFromProto(request.requestInfo),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
