import { Code, ConnectError } from '@connectrpc/connect';
import { createMethodSerializationLookup, validateReadWriteMaxBytes } from '@connectrpc/connect/protocol';
import { HookError } from '../../core/hook-error.js';
import type { DecodedPayload } from '../../event/pending-message-event.js';
import { PendingMessageService, type PendingMessageRequest } from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { DecodeLimits } from '../codec.js';
import { jsonNestsDeeperThan } from '../json-depth.js';
import { decodeTwirpJson, decodeTwirpProtobuf, payloadFromRequest } from '../twirp/decode.js';

/*
 * Decoders of a verified Connect unary body (`application/proto`, `application/json`): the
 * payloads and refusals connect-es gives for the same bytes. The compiled Twirp decoders serve
 * every body they accept (they accept exactly what protobuf-es accepts with connect-es's
 * options — binary: any `readUnknownFields`, recursion limit 100; JSON: unknown fields ignored,
 * recursion limit 100 — and give the same payload). A body they refuse is decoded again as
 * connect-es decodes it, with its own serializer, so that refusals keep connect-es's wording,
 * and the one place the two may disagree (the JSON decoder refuses invalid UTF-8, which
 * connect-es's TextDecoder replaces) is decided as connect-es decides it.
 */

// What connect-es's router decodes requests with: the method's serializer, the router's defaults.
const connectEsInput = createMethodSerializationLookup(
  PendingMessageService.method.passOnPendingMessage,
  undefined,
  undefined,
  validateReadWriteMaxBytes(undefined, undefined, undefined),
);

/** Decodes an `application/proto` body. */
export function decodeConnectProto(body: Uint8Array): DecodedPayload | HookError {
  const payload = decodeTwirpProtobuf(body);
  return payload instanceof HookError ? decodeAsConnectEs(body, true) : payload;
}

/** Decodes an `application/json` body (protobuf JSON). */
export function decodeConnectJson(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
  const payload = decodeTwirpJson(body, limits);
  if (!(payload instanceof HookError)) return payload;
  // Checked before connect-es's decoder, which would recurse up to its own limit.
  if (jsonNestsDeeperThan(body, limits.maxJsonDepth)) return new HookError('malformed_json', `JSON nests deeper than ${limits.maxJsonDepth} levels`);
  return decodeAsConnectEs(body, false);
}

/** connect-es's decoding and the service's conversion, as its router and our implementation did them. */
function decodeAsConnectEs(body: Uint8Array, binary: boolean): DecodedPayload | HookError {
  let request: PendingMessageRequest;
  try {
    request = connectEsInput.getI(binary).parse(body);
  } catch (error) {
    const refused = ConnectError.from(error, Code.Internal);
    // connect-es reports an undecodable binary body as `internal` (500); it is the caller's fault.
    if (refused.code !== Code.InvalidArgument) return new HookError('malformed_protobuf', 'request body could not be decoded', refused.message);
    return new HookError('malformed_json', refused.rawMessage);
  }
  const payload = payloadFromRequest(request);
  // connect-es's implementation answered every conversion refusal `invalid_argument`, in its words.
  return payload instanceof HookError && payload.code !== 'invalid_payload' ? new HookError('invalid_payload', payload.message, payload.detail) : payload;
}
