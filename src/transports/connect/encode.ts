import { create, toBinary, toJsonString } from '@bufbuild/protobuf';
import type { NeutralResponse } from '../../core/neutral.js';
import type { Outcome } from '../../decision/decision.js';
import {
  DeletedPendingMessageResponseSchema,
  PendingMessageResponseSchema,
  type PendingMessageResponse,
} from '../../gen/pendingmessage/v1/pending_message_pb.js';
import { createPassOnAnswers } from '../pass-on-answers.js';
import { actionToProto } from '../twirp/message-convert.js';

/*
 * Connect unary answers, written exactly as connect-es writes them for our service: status
 * 200, `content-type` `application/proto` or `application/json` (never a charset), and
 * `content-length`; the body is `toBinary` or `toJsonString` with connect-es's defaults
 * (lowerCamelCase names, enums by name, default values omitted). Answers that do not depend
 * on the request are encoded once and shared frozen: copy one before changing it.
 */

/** The successful answers of one Connect unary encoding. */
export interface ConnectUnaryEncoder {
  encodePassOn(outcome: Outcome): NeutralResponse;
  /** The ack-first answer (`{accepted: true}`). */
  encodeAccepted(): NeutralResponse;
  /** The empty `DeletedPendingMessageResponse`. */
  encodeDeleted(): NeutralResponse;
}

function answer(contentType: string, body: Uint8Array): NeutralResponse {
  return { status: 200, headers: { 'content-type': contentType, 'content-length': String(body.byteLength) }, body };
}

function frozenAnswer(contentType: string, body: Uint8Array): NeutralResponse {
  const response = answer(contentType, body);
  Object.freeze(response.headers);
  return Object.freeze(response);
}

/** The message connect-es's path builds for a decided callback (field values as there). */
function passOnMessage(outcome: Outcome): PendingMessageResponse {
  return create(PendingMessageResponseSchema, { action: actionToProto(outcome.action), reason: outcome.reason ?? '', timedOut: outcome.timedOut });
}

function createEncoder(
  contentType: string,
  serialize: (response: PendingMessageResponse) => Uint8Array,
  deletedBody: Uint8Array,
): ConnectUnaryEncoder {
  const accepted = frozenAnswer(contentType, serialize(create(PendingMessageResponseSchema, { accepted: true })));
  const deleted = frozenAnswer(contentType, deletedBody);
  return {
    encodePassOn: createPassOnAnswers((outcome) => answer(contentType, serialize(passOnMessage(outcome)))),
    encodeAccepted: () => accepted,
    encodeDeleted: () => deleted,
  };
}

const deletedMessage = create(DeletedPendingMessageResponseSchema);

/** `application/proto` answers. */
export const connectProtoEncoder: ConnectUnaryEncoder = createEncoder(
  'application/proto',
  (response) => toBinary(PendingMessageResponseSchema, response),
  toBinary(DeletedPendingMessageResponseSchema, deletedMessage),
);

/** `application/json` answers (canonical protobuf JSON, as connect-es writes it). */
export const connectJsonEncoder: ConnectUnaryEncoder = createEncoder(
  'application/json',
  (response) => Buffer.from(toJsonString(PendingMessageResponseSchema, response), 'utf8'),
  Buffer.from(toJsonString(DeletedPendingMessageResponseSchema, deletedMessage), 'utf8'),
);
