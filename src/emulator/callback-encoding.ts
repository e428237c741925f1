import { createHmac } from 'node:crypto';
import { fromBinary, toBinary, toJson, toJsonString } from '@bufbuild/protobuf';
import type { DecisionAction } from '../decision/decision.js';
import type { PendingMessageBody } from '../event/message-schema.js';
import type { PendingMessageMethod } from '../event/pending-message-event.js';
import {
  DeletedPendingMessageResponseSchema,
  PendingMessageRequestSchema,
  PendingMessageResponseSchema,
} from '../gen/pendingmessage/v1/pending_message_pb.js';
import { actionFromProto, pendingMessageRequestFromBody } from '../transports/twirp/message-convert.js';
import { twirpRoutePath } from '../transports/twirp/index.js';

/**
 * How Stream's callbacks look on the wire in each callback mode: the body bytes, the content
 * type and the path, built from the REST-shaped payload `{message, metadata, request_info}`.
 * Also reads the answer back into one shape, whichever mode carried it.
 */

/** How the callback body is encoded: Stream's REST mode, or its Twirp mode in either encoding. */
export type CallbackMode = 'rest' | 'twirp-protobuf' | 'twirp-json';

/** The modes, as every command spells them (`--mode rest | twirp-protobuf | twirp-json`). */
export const callbackModes: readonly CallbackMode[] = ['rest', 'twirp-protobuf', 'twirp-json'];

export function isCallbackMode(value: unknown): value is CallbackMode {
  return typeof value === 'string' && (callbackModes as readonly string[]).includes(value);
}

/** Twirp's usual route prefix. */
export const defaultTwirpPrefix = '/twirp';

/** A callback ready to send. */
export interface EncodedCallback {
  mode: CallbackMode;
  /** The exact bytes `X-Signature` covers (before any gzip). */
  body: Buffer;
  contentType: string;
}

/** Protobuf JSON as Twirp's Go server writes it: proto field names, unpopulated fields emitted. */
const twirpJsonWrite = { useProtoFieldName: true, alwaysEmitImplicit: true } as const;

function assertRestBody(payload: unknown): asserts payload is PendingMessageBody {
  const message = (payload as { message?: unknown } | null | undefined)?.message;
  if (message === null || typeof message !== 'object' || typeof (message as { id?: unknown }).id !== 'string') {
    throw new TypeError('encodeCallback: a Twirp callback needs a REST-shaped payload {message: {id, …}, metadata?, request_info?}');
  }
}

/**
 * Encodes a REST-shaped callback body for `mode`:
 * - `rest`: the JSON as given (`application/json`);
 * - `twirp-protobuf`: a `pendingmessage.v1.PendingMessageRequest` in protobuf (`application/protobuf`);
 * - `twirp-json`: the same request in protobuf JSON with proto field names (`application/json`).
 *
 * Untyped message, user and attachment fields travel in the `custom` Structs; REST `null`s
 * become unset fields. Both methods take the same request message.
 *
 * @example
 * const { body, contentType } = encodeCallback('twirp-protobuf', samplePayload(sampleMessage({}, 1)));
 */
export function encodeCallback(mode: CallbackMode, payload: unknown): EncodedCallback {
  switch (mode) {
    case 'rest':
      return { mode, body: Buffer.from(JSON.stringify(payload ?? {}), 'utf8'), contentType: 'application/json' };
    case 'twirp-protobuf': {
      assertRestBody(payload);
      const bytes = toBinary(PendingMessageRequestSchema, pendingMessageRequestFromBody(payload));
      return { mode, body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType: 'application/protobuf' };
    }
    case 'twirp-json': {
      assertRestBody(payload);
      const json = toJsonString(PendingMessageRequestSchema, pendingMessageRequestFromBody(payload), { useProtoFieldName: true });
      return { mode, body: Buffer.from(json, 'utf8'), contentType: 'application/json' };
    }
    default:
      throw new TypeError(`encodeCallback: unknown mode ${String(mode)} (rest, twirp-protobuf or twirp-json)`);
  }
}

/** Lowercase hex HMAC-SHA256 of `body` keyed with `secret`, as in `X-Signature` (over the uncompressed bytes). */
export function signCallbackBody(body: Uint8Array | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * The path of a callback below the hook's `webhook_url`: `/{method}` for REST,
 * `{prefix}/pendingmessage.v1.PendingMessageService/{method}` for Twirp (prefix default `/twirp`).
 */
export function callbackPath(mode: CallbackMode, method: PendingMessageMethod, twirpPrefix: string = defaultTwirpPrefix): string {
  return mode === 'rest' ? `/${method}` : twirpRoutePath(twirpPrefix, method);
}

/** A PassOnPendingMessage answer, whichever mode carried it. */
export interface CallbackAnswer {
  /** The decision answered; undefined for an ack-first answer (or an action this version does not know). */
  action: DecisionAction | undefined;
  reason: string | undefined;
  timedOut: boolean;
  /** Ack-first: the decision is applied through the API later. */
  accepted: boolean;
}

const restActions: ReadonlySet<string> = new Set(['commit', 'delete', 'keep_pending']);
const twirpActionNames: Record<string, DecisionAction | undefined> = {
  ACTION_COMMIT: 'commit',
  ACTION_DELETE: 'delete',
  ACTION_KEEP_PENDING: 'keep_pending',
  ACTION_UNSPECIFIED: undefined,
};

/**
 * Reads a 2xx PassOnPendingMessage answer into one shape, whichever mode carried it: REST
 * `{action, reason?, timed_out}` / `{accepted: true}`, or Twirp's (and Connect's)
 * `PendingMessageResponse` — protobuf, or JSON with enum names or numbers. Give it the answer's
 * bytes and its `Content-Type`, or a body {@link decodeAnswerBody} already decoded. Undefined
 * when it is neither answer (or cannot be decoded). The one reader of answers on Stream's side:
 * the callback sender, the load generator and the benchmarks use it.
 */
export function readPassOnAnswer(body: unknown, contentType?: string): CallbackAnswer | undefined {
  if (body instanceof Uint8Array) {
    if (isProtobufType(contentType ?? '')) {
      try {
        const response = fromBinary(PendingMessageResponseSchema, body);
        const action = actionFromProto(response.action);
        if (action === undefined && !response.accepted) return undefined;
        return { action, reason: response.reason === '' ? undefined : response.reason, timedOut: response.timedOut, accepted: response.accepted };
      } catch {
        return undefined;
      }
    }
    try {
      body = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch {
      return undefined;
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const raw = record.action;
  let action: DecisionAction | undefined;
  if (typeof raw === 'string') action = restActions.has(raw) ? (raw as DecisionAction) : twirpActionNames[raw];
  else if (typeof raw === 'number') action = actionFromProto(raw);
  const accepted = record.accepted === true;
  if (action === undefined && !accepted) return undefined;
  const reason = typeof record.reason === 'string' && record.reason !== '' ? record.reason : undefined;
  const timedOut = record.timed_out === true || record.timedOut === true;
  return { action, reason, timedOut, accepted };
}

/** Protobuf bodies: Twirp's `application/protobuf` (and `x-protobuf`), Connect's `application/proto`. */
function isProtobufType(contentType: string): boolean {
  const type = contentType.toLowerCase();
  return type.includes('application/protobuf') || type.includes('application/x-protobuf') || /application\/proto(?:$|[;\s])/.test(type);
}

/**
 * An answer body as something readable: JSON parsed; a protobuf answer decoded (the
 * method's response message) and shown as Twirp's JSON; anything else as text.
 */
export function decodeAnswerBody(bytes: Uint8Array, contentType: string, method: PendingMessageMethod): unknown {
  const type = contentType.toLowerCase();
  if (isProtobufType(type)) {
    try {
      if (method === 'PassOnPendingMessage') {
        return toJson(PendingMessageResponseSchema, fromBinary(PendingMessageResponseSchema, bytes), twirpJsonWrite);
      }
      return toJson(DeletedPendingMessageResponseSchema, fromBinary(DeletedPendingMessageResponseSchema, bytes), twirpJsonWrite);
    } catch {
      return Buffer.from(bytes).toString('base64');
    }
  }
  if (bytes.byteLength === 0) return '';
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
