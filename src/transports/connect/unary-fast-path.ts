import type { Logger } from 'pino';
import { decisionNotApplied, HookError } from '../../core/hook-error.js';
import type { NeutralRequest, NeutralResponse } from '../../core/neutral.js';
import { createEvent } from '../../event/create-event.js';
import type { VerifiedBody } from '../../signature/verified-body.js';
import type { PassOnResult } from '../../decision/decision.js';
import type { PendingMessageEvent, PendingMessageMethod } from '../../event/pending-message-event.js';
import { messageIdProblem } from '../../event/message-id.js';
import { decodeTwirpJson, decodeTwirpProtobuf } from '../twirp/decode.js';
import { errorResponse } from './errors.js';
import { connectUnaryEncoder, type ConnectUnaryEncoder, type ConnectUnaryEncoding } from './encode.js';

/*
 * Connect unary calls (`POST`, `application/proto` or `application/json`) served without
 * connect-es's universal handler: its Headers, AbortSignals, async iterables and reflective
 * protobuf-es decoding cost several times the rest of a callback. The answers are the ones
 * connect-es gives for the same call (status, content type, bytes): the body is decoded by the
 * compiled Twirp decoders, which accept exactly what protobuf-es accepts with connect-es's
 * options (binary: any `readUnknownFields`, recursion limit 100; JSON: unknown fields ignored,
 * recursion limit 100) and give the same payload; answers come from `encode.ts`.
 *
 * Whatever this path does not serve it hands back (`undefined`) for connect-es to answer:
 * other protocols and content types, GET, a `connect-protocol-version` other than 1, a
 * malformed `connect-timeout-ms`, and every body the decoders refuse, so that refusals keep
 * connect-es's exact wording. (Refusing is also where the two may disagree: the JSON decoder
 * refuses invalid UTF-8, which connect-es's TextDecoder replaces; connect-es then decides.)
 */

const unaryProto = /^application\/proto$/i;
// connect-es's `contentTypeUnaryRegExp`, JSON half.
const unaryJson = /^application\/json(?:; ?charset=utf-?8)?$/i;
// connect-es's `parseTimeout`; anything else it answers `invalid_argument`.
const validTimeout = /^\d{1,10}$/;

/**
 * The encoding of a request this path may serve, judged from its method and headers alone;
 * undefined when connect-es must answer it.
 */
export function fastUnaryEncoding(request: NeutralRequest): ConnectUnaryEncoding | undefined {
  if (request.method !== 'POST') return undefined;
  const { headers } = request;
  const contentType = headers['content-type'];
  if (typeof contentType !== 'string') return undefined;
  let encoding: ConnectUnaryEncoding;
  if (contentType === 'application/proto' || unaryProto.test(contentType)) encoding = 'proto';
  else if (unaryJson.test(contentType)) encoding = 'json';
  else return undefined;
  const version = headers['connect-protocol-version'];
  if (version !== undefined && version !== '1') return undefined;
  // A valid timeout only becomes a deadline on connect-es's AbortSignal, which our
  // implementation never reads: the dispatcher enforces the hook's own budget. So it changes
  // nothing in the answer and is ignored here; a malformed one is connect-es's to refuse.
  const timeout = headers['connect-timeout-ms'];
  if (timeout !== undefined && (typeof timeout !== 'string' || !validTimeout.test(timeout))) return undefined;
  return encoding;
}

/**
 * What Connect needs of the dispatcher (`dispatch/dispatcher.ts` provides it). Declared here so
 * transports stay below dispatch/: the pipeline hands the dispatcher in.
 */
export interface ConnectDispatch {
  passOn(event: PendingMessageEvent, receivedAt: number): PassOnResult | Promise<PassOnResult>;
  deleted(event: PendingMessageEvent, receivedAt: number): Promise<void>;
}

export interface UnaryFastPathDeps {
  dispatcher: ConnectDispatch;
  maxJsonDepth: number;
  logger: Logger;
}

/**
 * Serves an authenticated Connect unary call (`encoding` from {@link fastUnaryEncoding}).
 * Synchronous when the dispatcher is; `undefined` when the body does not decode, for
 * connect-es to answer.
 */
export type UnaryFastPath = (
  method: PendingMessageMethod,
  encoding: ConnectUnaryEncoding,
  request: NeutralRequest,
  verified: VerifiedBody,
) => NeutralResponse | Promise<NeutralResponse> | undefined;

/** The fast path over a dispatcher. */
export function createUnaryFastPath(deps: UnaryFastPathDeps): UnaryFastPath {
  const { dispatcher, logger } = deps;
  const limits = { maxJsonDepth: deps.maxJsonDepth };

  /** What connect-es answers when the implementation throws something that is not a ConnectError. */
  function internal(error: unknown, method: PendingMessageMethod, contentType: string): NeutralResponse {
    logger.error({ err: error, method }, 'dispatch failed');
    return errorResponse(contentType, new HookError('internal', 'internal error'));
  }

  function passOnAnswer(result: PassOnResult, encoder: ConnectUnaryEncoder, contentType: string): NeutralResponse {
    if (result.kind === 'decided') return encoder.encodePassOn(result.outcome);
    if (result.kind === 'accepted') return encoder.accepted;
    return errorResponse(contentType, decisionNotApplied(result.outcome.action));
  }

  return (method, encoding, request, verified) => {
    const payload = encoding === 'proto' ? decodeTwirpProtobuf(verified.body) : decodeTwirpJson(verified.body, limits);
    // connect-es answers these with its own wording (the service refuses an invalid id).
    if (payload instanceof HookError || messageIdProblem(payload.message.id) !== undefined) return undefined;
    const encoder = connectUnaryEncoder(encoding);
    const contentType = request.headers['content-type'] as string;
    const event = createEvent(method, payload, verified.app.apiKey, request, 'connect');
    try {
      if (method === 'DeletedPendingMessage') {
        return dispatcher.deleted(event, request.receivedAt).then(
          () => encoder.deleted,
          (error: unknown) => internal(error, method, contentType),
        );
      }
      const result = dispatcher.passOn(event, request.receivedAt);
      if (!(result instanceof Promise)) return passOnAnswer(result, encoder, contentType);
      return result.then(
        (settled) => passOnAnswer(settled, encoder, contentType),
        (error: unknown) => internal(error, method, contentType),
      );
    } catch (error) {
      return internal(error, method, contentType);
    }
  };
}
