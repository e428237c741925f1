import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import type { HookError } from '../../core/hook-error.js';
import type { NeutralResponse } from '../../core/neutral.js';
import type { Outcome } from '../../decision/decision.js';
import {
  Action,
  DeletedPendingMessageResponseSchema,
  PendingMessageResponseSchema,
  type PendingMessageResponse,
} from '../../gen/pendingmessage/v1/pending_message_pb.js';
import { twirpContentTypeJson, twirpContentTypeProtobuf, type TwirpEncoding } from './content-type.js';
import { twirpErrorFor } from './errors.js';
import { createPassOnAnswers } from '../pass-on-answers.js';
import { actionToProto } from './message-convert.js';

/*
 * Encoders of Twirp answers. Answers that do not depend on the request (ack-first, deleted,
 * and decisions with no reason, a fallback reason or a handler reason met before) are encoded
 * once; the returned responses are shared and frozen: copy one before changing it.
 */

/**
 * Twirp's Go server writes JSON with proto field names and emits unpopulated fields; enums
 * as their names (`"ACTION_COMMIT"`).
 */
const jsonWriteOptions = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

const protobufHeaders: Readonly<Record<string, string>> = Object.freeze({
  'content-type': twirpContentTypeProtobuf,
});
const jsonHeaders: Readonly<Record<string, string>> = Object.freeze({
  'content-type': twirpContentTypeJson,
});

/** The answers of one Twirp encoding. */
export interface TwirpEncoder {
  readonly encoding: TwirpEncoding;
  encodePassOn(outcome: Outcome): NeutralResponse;
  encodeAccepted(): NeutralResponse;
  encodeDeleted(): NeutralResponse;
}

function frozenResponse(headers: Readonly<Record<string, string>>, body: Uint8Array): NeutralResponse {
  return Object.freeze({ status: 200, headers, body });
}

function passOnMessage(action: Action, reason: string, timedOut: boolean, accepted: boolean) {
  return create(PendingMessageResponseSchema, { action, reason, timedOut, accepted });
}

function createEncoder(
  encoding: TwirpEncoding,
  serialize: (response: PendingMessageResponse) => string | Uint8Array,
  deletedBody: Uint8Array,
): TwirpEncoder {
  const headers = encoding === 'json' ? jsonHeaders : protobufHeaders;
  const constant = (message: PendingMessageResponse): NeutralResponse => {
    const body = serialize(message);
    // Constant JSON is stored as bytes so it is never re-encoded.
    return frozenResponse(headers, typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  };
  const accepted = constant(passOnMessage(Action.UNSPECIFIED, '', false, true));
  const deleted = frozenResponse(headers, deletedBody);

  return {
    encoding,
    encodePassOn: createPassOnAnswers((outcome) => {
      const body = serialize(passOnMessage(actionToProto(outcome.action), outcome.reason ?? '', outcome.timedOut, false));
      return { status: 200, headers, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body };
    }),
    encodeAccepted: () => accepted,
    encodeDeleted: () => deleted,
  };
}

export const twirpProtobufEncoder: TwirpEncoder = createEncoder(
  'protobuf',
  (response) => toBinary(PendingMessageResponseSchema, response),
  toBinary(DeletedPendingMessageResponseSchema, create(DeletedPendingMessageResponseSchema)),
);

export const twirpJsonEncoder: TwirpEncoder = createEncoder(
  'json',
  (response) => toJsonString(PendingMessageResponseSchema, response, jsonWriteOptions),
  Buffer.from(
    toJsonString(DeletedPendingMessageResponseSchema, create(DeletedPendingMessageResponseSchema), jsonWriteOptions),
    'utf8',
  ),
);

/** The JSON body of a Twirp error (https://twitchtv.github.io/twirp/docs/spec_v7.html#error-codes). */
export interface TwirpErrorBody {
  code: string;
  msg: string;
  meta?: Record<string, string>;
}

/**
 * A HookError as a Twirp error: always JSON, whatever the request's encoding, with the status
 * of its Twirp code. `meta.hook_error` carries our finer code (several map to one Twirp code).
 * The error's `detail` is for logs and never sent.
 */
export function encodeTwirpError(error: HookError): NeutralResponse {
  const { code, status } = twirpErrorFor(error.code);
  const body: TwirpErrorBody = { code, msg: error.message, meta: { hook_error: error.code } };
  return { status, headers: jsonHeaders, body: JSON.stringify(body) };
}
