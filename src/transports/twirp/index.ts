import type { HookError } from '../../core/hook-error.js';
import type { NeutralResponse } from '../../core/neutral.js';
import type { PendingMessageMethod } from '../../event/pending-message-event.js';
import { PendingMessageService } from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { TransportFamily, WireCodec } from '../codec.js';
import { parseTwirpContentType } from './content-type.js';
import { decodeTwirpJson, decodeTwirpProtobuf, warnTwirpSlowPathOnce, type WarnLogger } from './decode.js';
import { encodeTwirpError, twirpJsonEncoder, twirpProtobufEncoder } from './encode.js';

/**
 * Twirp v7 (https://twitchtv.github.io/twirp/docs/spec_v7.html) for Stream's pending-message
 * callbacks: `POST {prefix}/pendingmessage.v1.PendingMessageService/{Method}`, protobuf or
 * JSON, contract in `proto/pendingmessage/v1/pending_message.proto`.
 *
 * Responses are shared where they do not depend on the request (frozen): copy before
 * changing one.
 */

/** The fully qualified service name, as it appears in the route. */
export const twirpServiceName = PendingMessageService.typeName;

/**
 * The route of one method: `{prefix}/pendingmessage.v1.PendingMessageService/{method}`.
 * `prefix` is usually `/twirp`; it may be empty, and a missing leading or extra trailing
 * slash is fixed (`twirp/` → `/twirp`).
 */
export function twirpRoutePath(prefix: string, method: PendingMessageMethod): string {
  let normalized = prefix.replace(/\/+$/, '');
  if (normalized !== '' && !normalized.startsWith('/')) normalized = `/${normalized}`;
  return `${normalized}/${twirpServiceName}/${method}`;
}

/** `application/protobuf` bodies. */
export const twirpProtobufCodec: WireCodec = Object.freeze({
  transport: 'twirp-protobuf',
  decode: (body, _limits) => decodeTwirpProtobuf(body),
  encodePassOn: (outcome) => twirpProtobufEncoder.encodePassOn(outcome),
  encodeAccepted: () => twirpProtobufEncoder.encodeAccepted(),
  encodeDeleted: () => twirpProtobufEncoder.encodeDeleted(),
  encodeError: encodeTwirpError,
} satisfies WireCodec);

/** `application/json` bodies (protobuf JSON). */
export const twirpJsonCodec: WireCodec = Object.freeze({
  transport: 'twirp-json',
  decode: decodeTwirpJson,
  encodePassOn: (outcome) => twirpJsonEncoder.encodePassOn(outcome),
  encodeAccepted: () => twirpJsonEncoder.encodeAccepted(),
  encodeDeleted: () => twirpJsonEncoder.encodeDeleted(),
  encodeError: encodeTwirpError,
} satisfies WireCodec);

/**
 * The Twirp transport: picks the codec by `Content-Type`; anything else is a `bad_route`.
 * Created at start-up: when the compiled decoders cannot serve the .proto (a field of a kind
 * they do not support), it says so once, naming each such field and its kind — through
 * `logger` when given, else as a Node process warning.
 */
export function createTwirpFamily(options: { readonly logger?: WarnLogger } = {}): TransportFamily {
  warnTwirpSlowPathOnce(options.logger);
  return {
    name: 'twirp',
    codecFor(contentType: string | undefined, method = 'POST'): WireCodec | undefined {
      if (method !== 'POST') return undefined;
      const encoding = parseTwirpContentType(contentType);
      if (encoding === 'protobuf') return twirpProtobufCodec;
      if (encoding === 'json') return twirpJsonCodec;
      return undefined;
    },
    encodeError: (error: HookError): NeutralResponse => encodeTwirpError(error),
  };
}

// Library-internal exports: the emulator, the server wiring and tests build on these.
export {
  parseTwirpContentType,
  twirpContentTypeJson,
  twirpContentTypeProtobuf,
  type TwirpEncoding,
} from './content-type.js';
export {
  createTwirpDecoders,
  decodeTwirpJson,
  decodeTwirpProtobuf,
  payloadFromRequest,
  protobufRecursionLimit,
  type TwirpDecoders,
  type WarnLogger,
} from './decode.js';
export {
  encodeTwirpError,
  twirpJsonEncoder,
  twirpProtobufEncoder,
  type TwirpEncoder,
  type TwirpErrorBody,
} from './encode.js';
export { hookErrorToTwirpCode, twirpCodeToHttpStatus, twirpErrorFor, type TwirpCode } from './errors.js';
export {
  actionFromProto,
  actionToProto,
  passOnAnswerFromProto,
  pendingMessageFromProto,
  pendingMessageRequestFromBody,
  pendingMessageToProto,
  requestInfoFromProto,
  requestInfoToProto,
  type TwirpPassOnAnswer,
} from './message-convert.js';
