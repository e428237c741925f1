import { HookError } from '../../core/hook-error.js';
import { headerValue, type NeutralHeaders, type NeutralResponse } from '../../core/neutral.js';
import type { PendingMessageMethod } from '../../event/pending-message-event.js';
import { PendingMessageService } from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { Authenticate } from '../../signature/verified-body.js';
import type { TransportFamily, WireCodec } from '../codec.js';
import { createConnectEsServe, type ConnectEsServe } from './connect-es.js';
import { connectUnaryEncoding } from './content-type.js';
import { decodeConnectJson, decodeConnectProto } from './decode.js';
import { connectJsonEncoder, connectProtoEncoder } from './encode.js';
import { encodeConnectError, errorResponse } from './errors.js';

/**
 * Connect and gRPC-Web on the same handlers. Stream never sends these; they serve your own
 * services and tools (for example a backfill job that asks for decisions). Off by default.
 */
export interface ConnectTransportOptions {
  /** Routes are `{prefix}/pendingmessage.v1.PendingMessageService/{Method}`. Default `/connect`. */
  prefix?: string;
  /** Also serve gRPC-Web (HTTP/1.1). Default true. */
  grpcWeb?: boolean;
  /**
   * Your own authentication for these routes, replacing the `X-Signature` check (for callers
   * that cannot sign raw bytes, e.g. a bearer token). Return the api key of the app the caller
   * acts for, `true` when one app is configured, or `false` to refuse (unauthenticated).
   * Without it the same `X-Signature` check as REST and Twirp applies.
   */
  authenticate?: Authenticate;
}

/** What the Connect transport is built with. */
export interface ConnectFamilyOptions {
  readonly grpcWeb: boolean;
  readonly bodyLimit: number;
  readonly maxJsonDepth: number;
}

/** The Connect procedure path of one method: `{prefix}/pendingmessage.v1.PendingMessageService/{method}`. */
export function connectRoutePath(prefix: string, method: PendingMessageMethod): string {
  return `${prefix.replace(/\/+$/, '')}/${PendingMessageService.typeName}/${method}`;
}

/** Connect unary `application/proto` bodies, decoded and encoded by the pipeline. */
export const connectProtoCodec: WireCodec = Object.freeze({
  transport: 'connect',
  decode: (body, _limits) => decodeConnectProto(body),
  encodePassOn: connectProtoEncoder.encodePassOn,
  encodeAccepted: connectProtoEncoder.encodeAccepted,
  encodeDeleted: connectProtoEncoder.encodeDeleted,
  encodeError: encodeConnectError,
} satisfies WireCodec);

/** Connect unary `application/json` bodies (protobuf JSON), decoded and encoded by the pipeline. */
export const connectJsonCodec: WireCodec = Object.freeze({
  transport: 'connect',
  decode: decodeConnectJson,
  encodePassOn: connectJsonEncoder.encodePassOn,
  encodeAccepted: connectJsonEncoder.encodeAccepted,
  encodeDeleted: connectJsonEncoder.encodeDeleted,
  encodeError: encodeConnectError,
} satisfies WireCodec);

const notDecodedHere = (): never => {
  throw new HookError('internal', 'internal error', 'a connect-es call reached the pipeline decoder or encoder');
};

/** A call connect-es decodes and encodes (`WireCodec.serve`); errors before it in the caller's protocol. */
function connectEsCodec(contentType: string, serve: ConnectEsServe): WireCodec {
  return {
    transport: 'connect',
    decode: notDecodedHere,
    encodePassOn: notDecodedHere,
    encodeAccepted: notDecodedHere,
    encodeDeleted: notDecodedHere,
    encodeError: (error: HookError): NeutralResponse => errorResponse(contentType, error),
    serve: (request, verified, method, dispatch) => serve(contentType, request, verified, method, dispatch),
  };
}

/**
 * The Connect transport (connectrpc.com/docs/protocol) for the PendingMessageService. Unary
 * `POST`s in `application/proto` or `application/json` — what a service calling the hooks
 * sends — take the pipeline's own stages with the codecs above: the same answers as
 * connect-es, byte for byte, without its Headers, AbortSignals, async iterables and reflective
 * decoding (~130 µs a call). Every other call to these paths (gRPC-Web above all) is served by
 * connect-es (`connect-es.ts`) once the pipeline has checked who sent it.
 */
export function createConnectFamily(options: ConnectFamilyOptions): TransportFamily {
  const serve = createConnectEsServe(options);
  return {
    name: 'connect',
    codecFor(contentType: string | undefined, method = 'POST', headers: NeutralHeaders = { 'content-type': contentType }): WireCodec {
      const encoding = connectUnaryEncoding(method, headers);
      if (encoding === 'proto') return connectProtoCodec;
      if (encoding === 'json') return connectJsonCodec;
      return connectEsCodec(contentType ?? '', serve);
    },
    encodeError: (error: HookError, headers?: NeutralHeaders): NeutralResponse => errorResponse((headers && headerValue(headers, 'content-type')) ?? '', error),
  };
}
