import type { PendingMessage, StreamUser } from '../event/message-schema.js';

/*
 * The payloads of Stream's common webhook events, as Stream's "Webhook events" page lists them
 * (snake_case, as sent). They are what Stream documents, not what is checked: a delivery is only
 * checked to be a JSON object with a string `type`, so every field but `type` may in practice be
 * missing, and fields Stream adds later are kept (each type has an index signature).
 */

/** A channel as it appears in events (custom fields kept). */
export interface StreamChannel {
  readonly id: string;
  readonly type: string;
  readonly cid: string;
  readonly created_by?: StreamUser | null;
  readonly member_count?: number;
  readonly frozen?: boolean;
  readonly disabled?: boolean;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly [field: string]: unknown;
}

/** A channel member (custom fields kept). */
export interface StreamMember {
  readonly user_id?: string;
  readonly user?: StreamUser;
  readonly role?: string;
  readonly channel_role?: string;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly [field: string]: unknown;
}

/** A reaction on a message. */
export interface StreamReaction {
  readonly type: string;
  readonly message_id: string;
  readonly user_id?: string;
  readonly user?: StreamUser;
  readonly score?: number;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly [field: string]: unknown;
}

/** The message object of message and reaction events (the same shape as a pending message). */
export type StreamMessage = PendingMessage;

/** Fields every event has. */
export interface StreamEventBase {
  readonly type: string;
  /** RFC 3339. */
  readonly created_at?: string;
  readonly [field: string]: unknown;
}

/** Fields of events about a channel: its `cid` (`type:id`), id and type, and the members (up to 50). */
export interface ChannelScoped extends StreamEventBase {
  readonly cid: string;
  readonly channel_id: string;
  readonly channel_type: string;
  readonly members?: readonly StreamMember[];
}

export interface MessageNewEvent extends ChannelScoped {
  readonly type: 'message.new';
  readonly message: StreamMessage;
  readonly user: StreamUser;
  readonly watcher_count?: number;
}
export interface MessageUpdatedEvent extends ChannelScoped {
  readonly type: 'message.updated';
  readonly message: StreamMessage;
  readonly user: StreamUser;
}
export interface MessageDeletedEvent extends ChannelScoped {
  readonly type: 'message.deleted';
  readonly message: StreamMessage;
  readonly user?: StreamUser;
  readonly hard_delete?: boolean;
}
export interface MessageReadEvent extends ChannelScoped {
  readonly type: 'message.read';
  readonly user: StreamUser;
  readonly last_read_message_id?: string;
}
export interface MessageFlaggedEvent extends ChannelScoped {
  readonly type: 'message.flagged';
  readonly message: StreamMessage;
  /** Who flagged it (absent when automoderation did). */
  readonly user?: StreamUser;
  readonly total_flags?: number;
}

interface ReactionEventBase extends ChannelScoped {
  readonly message: StreamMessage;
  readonly reaction: StreamReaction;
  readonly user: StreamUser;
}
export interface ReactionNewEvent extends ReactionEventBase {
  readonly type: 'reaction.new';
}
export interface ReactionUpdatedEvent extends ReactionEventBase {
  readonly type: 'reaction.updated';
}
export interface ReactionDeletedEvent extends ReactionEventBase {
  readonly type: 'reaction.deleted';
}

interface MemberEventBase extends ChannelScoped {
  readonly member: StreamMember;
  readonly user?: StreamUser;
}
export interface MemberAddedEvent extends MemberEventBase {
  readonly type: 'member.added';
}
export interface MemberUpdatedEvent extends MemberEventBase {
  readonly type: 'member.updated';
}
export interface MemberRemovedEvent extends MemberEventBase {
  readonly type: 'member.removed';
}

interface ChannelEventBase extends ChannelScoped {
  readonly channel?: StreamChannel;
  readonly user?: StreamUser;
}
export interface ChannelCreatedEvent extends ChannelEventBase {
  readonly type: 'channel.created';
}
export interface ChannelUpdatedEvent extends ChannelEventBase {
  readonly type: 'channel.updated';
}
export interface ChannelDeletedEvent extends ChannelEventBase {
  readonly type: 'channel.deleted';
}
export interface ChannelTruncatedEvent extends ChannelEventBase {
  readonly type: 'channel.truncated';
}
export interface ChannelHiddenEvent extends ChannelEventBase {
  readonly type: 'channel.hidden';
  readonly clear_history?: boolean;
}
export interface ChannelVisibleEvent extends ChannelEventBase {
  readonly type: 'channel.visible';
}
export interface ChannelMutedEvent extends StreamEventBase {
  readonly type: 'channel.muted';
  readonly user?: StreamUser;
}
export interface ChannelUnmutedEvent extends StreamEventBase {
  readonly type: 'channel.unmuted';
  readonly user?: StreamUser;
}

interface UserEventBase extends StreamEventBase {
  /** The user the event is about. */
  readonly user: StreamUser;
}
export interface UserUpdatedEvent extends UserEventBase {
  readonly type: 'user.updated';
}
export interface UserDeletedEvent extends UserEventBase {
  readonly type: 'user.deleted';
  readonly hard_delete?: boolean;
  readonly mark_messages_deleted?: boolean;
}
export interface UserDeactivatedEvent extends UserEventBase {
  readonly type: 'user.deactivated';
  readonly created_by?: StreamUser;
}
export interface UserReactivatedEvent extends UserEventBase {
  readonly type: 'user.reactivated';
}
export interface UserBannedEvent extends UserEventBase {
  readonly type: 'user.banned';
  readonly created_by?: StreamUser;
  readonly reason?: string;
  /** RFC 3339; absent for a permanent ban. */
  readonly expiration?: string;
  readonly shadow?: boolean;
  /** Set for a ban in one channel. */
  readonly cid?: string;
}
export interface UserUnbannedEvent extends UserEventBase {
  readonly type: 'user.unbanned';
  readonly cid?: string;
}
export interface UserFlaggedEvent extends UserEventBase {
  readonly type: 'user.flagged';
  readonly target_user?: StreamUser;
}
export interface UserMutedEvent extends UserEventBase {
  readonly type: 'user.muted';
  readonly target_user?: StreamUser;
  readonly target_users?: readonly StreamUser[];
}
export interface UserUnmutedEvent extends UserEventBase {
  readonly type: 'user.unmuted';
  readonly target_user?: StreamUser;
  readonly target_users?: readonly StreamUser[];
}
export interface UserUnreadMessageReminderEvent extends UserEventBase {
  readonly type: 'user.unread_message_reminder';
  /** The channels with unread messages, by cid. */
  readonly channels?: Readonly<Record<string, unknown>>;
}

/** The typed payload of each common event type. */
export interface StreamEventMap {
  'message.new': MessageNewEvent;
  'message.updated': MessageUpdatedEvent;
  'message.deleted': MessageDeletedEvent;
  'message.read': MessageReadEvent;
  'message.flagged': MessageFlaggedEvent;
  'reaction.new': ReactionNewEvent;
  'reaction.updated': ReactionUpdatedEvent;
  'reaction.deleted': ReactionDeletedEvent;
  'member.added': MemberAddedEvent;
  'member.updated': MemberUpdatedEvent;
  'member.removed': MemberRemovedEvent;
  'channel.created': ChannelCreatedEvent;
  'channel.updated': ChannelUpdatedEvent;
  'channel.deleted': ChannelDeletedEvent;
  'channel.truncated': ChannelTruncatedEvent;
  'channel.hidden': ChannelHiddenEvent;
  'channel.visible': ChannelVisibleEvent;
  'channel.muted': ChannelMutedEvent;
  'channel.unmuted': ChannelUnmutedEvent;
  'user.updated': UserUpdatedEvent;
  'user.deleted': UserDeletedEvent;
  'user.deactivated': UserDeactivatedEvent;
  'user.reactivated': UserReactivatedEvent;
  'user.banned': UserBannedEvent;
  'user.unbanned': UserUnbannedEvent;
  'user.flagged': UserFlaggedEvent;
  'user.muted': UserMutedEvent;
  'user.unmuted': UserUnmutedEvent;
  'user.unread_message_reminder': UserUnreadMessageReminderEvent;
}

/** The event types with a typed payload. */
export type KnownEventType = keyof StreamEventMap;

declare const unlistedBrand: unique symbol;

/**
 * The `type` of an event not in `StreamEventMap` (one Stream added later). Branded so that
 * comparing `event.type === 'message.new'` narrows to `MessageNewEvent` alone: at run time it is
 * a plain string.
 */
export type UnlistedEventType<Prefix extends string = string> = `${Prefix}${string}` & { readonly [unlistedBrand]: true };

/** An event of a type not in `StreamEventMap`: only `type` is known. */
export interface UnlistedStreamEvent<Prefix extends string = string> extends Omit<StreamEventBase, 'type'> {
  readonly type: UnlistedEventType<Prefix>;
}

/** Any event Stream delivers: one of the typed ones, or one of a type added later. */
export type StreamEvent = StreamEventMap[KnownEventType] | UnlistedStreamEvent;

/** Whether a type has a typed payload (for counting: metrics label unlisted types as `other`). */
export function isKnownEventType(type: string): type is KnownEventType {
  return Object.hasOwn(knownEventTypes, type);
}

const knownEventTypes: Readonly<Record<KnownEventType, true>> = {
  'message.new': true,
  'message.updated': true,
  'message.deleted': true,
  'message.read': true,
  'message.flagged': true,
  'reaction.new': true,
  'reaction.updated': true,
  'reaction.deleted': true,
  'member.added': true,
  'member.updated': true,
  'member.removed': true,
  'channel.created': true,
  'channel.updated': true,
  'channel.deleted': true,
  'channel.truncated': true,
  'channel.hidden': true,
  'channel.visible': true,
  'channel.muted': true,
  'channel.unmuted': true,
  'user.updated': true,
  'user.deleted': true,
  'user.deactivated': true,
  'user.reactivated': true,
  'user.banned': true,
  'user.unbanned': true,
  'user.flagged': true,
  'user.muted': true,
  'user.unmuted': true,
  'user.unread_message_reminder': true,
};
