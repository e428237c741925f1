import type { HookError } from '../core/hook-error.js';
import type { NeutralResponse } from '../core/neutral.js';
import type { Outcome } from '../decision/decision.js';
import type { DecodedPayload, TransportName } from '../event/pending-message-event.js';

/** Limits a decoder enforces on hostile input. */
export interface DecodeLimits {
  /** JSON nested deeper than this is malformed; the outermost value is depth 1. */
  readonly maxJsonDepth: number;
}

/**
 * One wire encoding (REST JSON, Twirp protobuf, Twirp JSON): decode a verified body into the
 * neutral payload, encode answers and errors. Decoders return errors as values so the caller
 * decides how to answer.
 */
export interface WireCodec {
  readonly transport: TransportName;
  decode(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError;
  encodePassOn(outcome: Outcome): NeutralResponse;
  /** Ack-first answer: the decision will be applied through Stream's API. */
  encodeAccepted(): NeutralResponse;
  encodeDeleted(): NeutralResponse;
  encodeError(error: HookError): NeutralResponse;
}

/**
 * A callback protocol (REST or Twirp): picks the codec for a content type and answers errors
 * met before a codec is chosen (unknown route, wrong method, unsupported content type).
 */
export interface TransportFamily {
  readonly name: 'rest' | 'twirp';
  /** The codec serving this `Content-Type` header, or undefined when the type is not served. */
  codecFor(contentType: string | undefined): WireCodec | undefined;
  encodeError(error: HookError): NeutralResponse;
}
