import type { HookError } from '../core/hook-error.js';
import type { NeutralHeaders, NeutralRequest, NeutralResponse } from '../core/neutral.js';
import type { Outcome, PassOnResult } from '../decision/decision.js';
import type { DecodedPayload, PendingMessageMethod, TransportName } from '../event/pending-message-event.js';
import type { Authenticate, VerifiedBody } from '../signature/verified-body.js';

/** Limits a decoder enforces on hostile input. */
export interface DecodeLimits {
  /** JSON nested deeper than this is malformed; the outermost value is depth 1. */
  readonly maxJsonDepth: number;
}

/**
 * The validate and dispatch stages of the pipeline, for a codec that decodes and encodes
 * through a library (`WireCodec.serve`): the decision (undefined for `DeletedPendingMessage`),
 * or the error to answer (already logged and counted).
 */
export type DispatchDecoded = (payload: DecodedPayload) => Promise<PassOnResult | HookError | undefined>;

/**
 * One wire encoding (REST JSON, Twirp protobuf, Twirp JSON, Connect unary protobuf or JSON):
 * decode a verified body into the neutral payload, encode answers and errors. Decoders return
 * errors as values so the caller decides how to answer.
 */
export interface WireCodec {
  readonly transport: TransportName;
  decode(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError;
  encodePassOn(outcome: Outcome): NeutralResponse;
  /** Ack-first answer: the decision will be applied through Stream's API. */
  encodeAccepted(): NeutralResponse;
  encodeDeleted(): NeutralResponse;
  encodeError(error: HookError): NeutralResponse;
  /**
   * Only for a protocol served through a library that decodes and encodes itself (connect-es,
   * for gRPC-Web): after the signature stage the pipeline hands it the verified call, and it
   * calls `dispatch` for the validate and dispatch stages. `decode` and `encode*` are then
   * not used (`encodeError` still answers refusals before it).
   */
  serve?(request: NeutralRequest, verified: VerifiedBody, method: PendingMessageMethod, dispatch: DispatchDecoded): Promise<NeutralResponse>;
}

/**
 * A callback protocol (REST, Twirp, Connect): picks the codec for a request and answers errors
 * met before a codec is chosen (unknown route, wrong method, unsupported content type, overload).
 */
export interface TransportFamily {
  readonly name: 'rest' | 'twirp' | 'connect';
  /**
   * The codec serving a request with this `Content-Type` header (and method, default POST; and
   * headers, for a family that reads more of them), or undefined when the request is not
   * served: the pipeline answers `method_not_allowed` for a method other than POST, else
   * `unsupported_media_type`.
   */
  codecFor(contentType: string | undefined, method?: string, headers?: NeutralHeaders): WireCodec | undefined;
  /** An error answer; `headers` are the request's (Connect answers gRPC-Web callers in kind). */
  encodeError(error: HookError, headers?: NeutralHeaders): NeutralResponse;
}

/** One served path: which protocol, which of Stream's two methods. */
export interface CallbackRoute {
  readonly path: string;
  readonly family: TransportFamily;
  readonly method: PendingMessageMethod;
  /** False only when signature checks were explicitly turned off for this transport. */
  readonly verify: boolean;
  /** Replaces the signature check (Connect's `authenticate` option): who the caller acts for. */
  readonly authenticate?: Authenticate | undefined;
}
