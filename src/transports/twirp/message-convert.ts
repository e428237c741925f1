import { create, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import type { DecisionAction } from '../../decision/decision.js';
import type {
  Attachment,
  PendingMessage,
  PendingMessageBody,
  RequestInfo,
  StreamUser,
} from '../../event/message-schema.js';
import {
  Action,
  AttachmentSchema,
  MessageSchema,
  PendingMessageRequestSchema,
  RequestInfoSchema,
  UserSchema,
  type Attachment as ProtoAttachment,
  type Message as ProtoMessage,
  type PendingMessageRequest,
  type PendingMessageResponse,
  type RequestInfo as ProtoRequestInfo,
  type User as ProtoUser,
} from '../../gen/pendingmessage/v1/pending_message_pb.js';

/*
 * Protobuf ⇄ the REST shape. The handler sees one message shape whichever transport carried
 * it: Stream's snake_case JSON object, as `message-schema.ts` parses it. From protobuf:
 * unset optional fields are omitted, empty repeated fields are omitted (proto3 cannot tell
 * empty from absent), and each `custom` Struct is flattened into its object. Keys of `custom`
 * that name a typed field are dropped, so a typed field always has its declared type.
 * Going back, REST `null`s become unset fields and every untyped key goes into `custom`.
 */

const messageFieldNames: ReadonlySet<string> = new Set([
  'id',
  'text',
  'html',
  'type',
  'cid',
  'parent_id',
  'show_in_channel',
  'user',
  'attachments',
  'mentioned_users',
  'created_at',
  'updated_at',
  'silent',
  'quoted_message_id',
]);
const userFieldNames: ReadonlySet<string> = new Set(['id', 'name', 'role', 'image']);
const attachmentFieldNames: ReadonlySet<string> = new Set([
  'type',
  'title',
  'text',
  'image_url',
  'asset_url',
  'thumb_url',
  'og_scrape_url',
]);

/** Copies the own keys of `custom` that are not typed fields into `target`. */
function flattenCustom(
  target: Record<string, unknown>,
  custom: JsonObject | undefined,
  typedNames: ReadonlySet<string>,
): void {
  if (custom === undefined) return;
  for (const key of Object.keys(custom)) {
    // `__proto__` would replace target's prototype instead of adding a field.
    if (typedNames.has(key) || key === '__proto__') continue;
    target[key] = custom[key];
  }
}

export function userFromProto(user: ProtoUser): StreamUser {
  const out: StreamUser = { id: user.id };
  if (user.name !== undefined) out.name = user.name;
  if (user.role !== undefined) out.role = user.role;
  if (user.image !== undefined) out.image = user.image;
  flattenCustom(out, user.custom, userFieldNames);
  return out;
}

export function attachmentFromProto(attachment: ProtoAttachment): Attachment {
  const out: Attachment = {};
  if (attachment.type !== undefined) out.type = attachment.type;
  if (attachment.title !== undefined) out.title = attachment.title;
  if (attachment.text !== undefined) out.text = attachment.text;
  if (attachment.imageUrl !== undefined) out.image_url = attachment.imageUrl;
  if (attachment.assetUrl !== undefined) out.asset_url = attachment.assetUrl;
  if (attachment.thumbUrl !== undefined) out.thumb_url = attachment.thumbUrl;
  if (attachment.ogScrapeUrl !== undefined) out.og_scrape_url = attachment.ogScrapeUrl;
  flattenCustom(out, attachment.custom, attachmentFieldNames);
  return out;
}

/** A protobuf `Message` in the shape the REST schema gives (see the note at the top). */
export function pendingMessageFromProto(message: ProtoMessage): PendingMessage {
  const out: PendingMessage = { id: message.id };
  if (message.text !== undefined) out.text = message.text;
  if (message.html !== undefined) out.html = message.html;
  if (message.type !== undefined) out.type = message.type;
  if (message.cid !== undefined) out.cid = message.cid;
  if (message.parentId !== undefined) out.parent_id = message.parentId;
  if (message.showInChannel !== undefined) out.show_in_channel = message.showInChannel;
  if (message.user !== undefined) out.user = userFromProto(message.user);
  if (message.attachments.length > 0) out.attachments = message.attachments.map(attachmentFromProto);
  if (message.mentionedUsers.length > 0) out.mentioned_users = message.mentionedUsers.map(userFromProto);
  if (message.createdAt !== undefined) out.created_at = message.createdAt;
  if (message.updatedAt !== undefined) out.updated_at = message.updatedAt;
  if (message.silent !== undefined) out.silent = message.silent;
  if (message.quotedMessageId !== undefined) out.quoted_message_id = message.quotedMessageId;
  flattenCustom(out, message.custom, messageFieldNames);
  return out;
}

/** A protobuf `RequestInfo` (or its absence) in the REST shape. */
export function requestInfoFromProto(info: ProtoRequestInfo | undefined): RequestInfo {
  const out: RequestInfo = {};
  if (info === undefined) return out;
  if (info.type !== undefined) out.type = info.type;
  if (info.ip !== undefined) out.ip = info.ip;
  if (info.userAgent !== undefined) out.user_agent = info.userAgent;
  if (info.sdk !== undefined) out.sdk = info.sdk;
  if (info.ext !== undefined) out.ext = info.ext;
  return out;
}

// --- REST shape → protobuf (the emulator and tests send what Stream would send) ---

/** The untyped keys of a REST object as a Struct, or undefined when there are none. */
function collectCustom(
  source: Record<string, unknown>,
  typedNames: ReadonlySet<string>,
): JsonObject | undefined {
  let custom: JsonObject | undefined;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (typedNames.has(key) || value === undefined) continue;
    // Values came from JSON, so they are JSON values.
    (custom ??= {})[key] = value as JsonValue;
  }
  return custom;
}

/** `null` (Go's encoding of an absent value) → unset. */
function opt<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

export function userToProto(user: StreamUser): ProtoUser {
  return create(UserSchema, {
    id: user.id,
    name: opt(user.name),
    role: opt(user.role),
    image: opt(user.image),
    custom: collectCustom(user, userFieldNames),
  });
}

export function attachmentToProto(attachment: Attachment): ProtoAttachment {
  return create(AttachmentSchema, {
    type: opt(attachment.type),
    title: opt(attachment.title),
    text: opt(attachment.text),
    imageUrl: opt(attachment.image_url),
    assetUrl: opt(attachment.asset_url),
    thumbUrl: opt(attachment.thumb_url),
    ogScrapeUrl: opt(attachment.og_scrape_url),
    custom: collectCustom(attachment, attachmentFieldNames),
  });
}

/** A REST-shaped message as a protobuf `Message`: untyped keys go into `custom`. */
export function pendingMessageToProto(message: PendingMessage): ProtoMessage {
  return create(MessageSchema, {
    id: message.id,
    text: opt(message.text),
    html: opt(message.html),
    type: opt(message.type),
    cid: opt(message.cid),
    parentId: opt(message.parent_id),
    showInChannel: opt(message.show_in_channel),
    user: message.user ? userToProto(message.user) : undefined,
    attachments: message.attachments?.map(attachmentToProto) ?? [],
    mentionedUsers: message.mentioned_users?.map(userToProto) ?? [],
    createdAt: opt(message.created_at),
    updatedAt: opt(message.updated_at),
    silent: opt(message.silent),
    quotedMessageId: opt(message.quoted_message_id),
    custom: collectCustom(message, messageFieldNames),
  });
}

export function requestInfoToProto(info: RequestInfo): ProtoRequestInfo {
  return create(RequestInfoSchema, {
    type: opt(info.type),
    ip: opt(info.ip),
    userAgent: opt(info.user_agent),
    sdk: opt(info.sdk),
    ext: opt(info.ext),
  });
}

/**
 * A REST callback body (what Stream POSTs in the REST mode) as the Twirp request carrying
 * the same callback. Fields of the body other than `message`, `metadata` and `request_info`
 * have no place in the request and are dropped.
 */
export function pendingMessageRequestFromBody(
  body: Pick<PendingMessageBody, 'message' | 'metadata' | 'request_info'>,
): PendingMessageRequest {
  return create(PendingMessageRequestSchema, {
    message: pendingMessageToProto(body.message),
    metadata: body.metadata ?? {},
    requestInfo: body.request_info ? requestInfoToProto(body.request_info) : undefined,
  });
}

// --- Actions ---

const actionToProtoTable = {
  commit: Action.COMMIT,
  delete: Action.DELETE,
  keep_pending: Action.KEEP_PENDING,
} as const satisfies Record<DecisionAction, Action>;

export function actionToProto(action: DecisionAction): Action {
  return actionToProtoTable[action];
}

/**
 * The decision an `Action` names; undefined for `ACTION_UNSPECIFIED` and for numbers this
 * version does not know (proto3 enums are open: a newer server may send them).
 */
export function actionFromProto(action: Action | number): DecisionAction | undefined {
  switch (action) {
    case Action.COMMIT:
      return 'commit';
    case Action.DELETE:
      return 'delete';
    case Action.KEEP_PENDING:
      return 'keep_pending';
    default:
      return undefined;
  }
}

/** A `PendingMessageResponse` as Stream (or the emulator) reads it. */
export interface TwirpPassOnAnswer {
  /** The applied decision; undefined when ack-first or the action is unknown. */
  readonly action: DecisionAction | undefined;
  /** The raw enum number, to report unknown actions. */
  readonly actionNumber: number;
  readonly reason: string | undefined;
  readonly timedOut: boolean;
  readonly accepted: boolean;
}

export function passOnAnswerFromProto(response: PendingMessageResponse): TwirpPassOnAnswer {
  return {
    action: actionFromProto(response.action),
    actionNumber: response.action,
    reason: response.reason === '' ? undefined : response.reason,
    timedOut: response.timedOut,
    accepted: response.accepted,
  };
}
