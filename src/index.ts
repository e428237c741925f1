/**
 * pending-hooks: serve Stream Chat's pending-message callbacks (REST and Twirp) with signature
 * checks, a time budget with a fallback decision, and decisions applied exactly once.
 */
// First: it must run before any full GC that could find no nextTick entry alive (see its TSDoc).
import './core/tick-object-maps.js';

export { createPendingHooks, defaultBodyLimit, defaultTimeoutMs } from './pending-hooks.js';
export type { ApiOption, PendingHooks, PendingHooksOptions, ResolvedPendingHooksOptions } from './pending-hooks.js';
export type { LoadSheddingOptions } from './core/load-shedder.js';
export { decide } from './decision/decision.js';
export type { Decision, DecisionAction, Outcome } from './decision/decision.js';
export { compose, composeParallel } from './dispatch/compose.js';
export type { Check, DeletedHandler, HandlerContext, PassOnHandler, PendingHandlers } from './dispatch/handler.js';
export { DeadlineExceededError, RequestAbortedError, ShutdownError, type RequestAbortCode } from './core/deadline.js';
export type { AnswerTiming } from './dispatch/dispatcher.js';
export type { PendingMessageEvent, PendingMessageMethod, TransportName } from './event/pending-message-event.js';
export type { Attachment, PendingMessage, RequestInfo, StreamUser } from './event/message-schema.js';
export { sign, verify } from './signature/sign.js';
export type { AppCredentials } from './signature/app-keyring.js';
export { createServer } from './server/create-server.js';
export type { CreateServerOptions } from './server/create-server.js';
export { pendingHooksPlugin } from './server/fastify-plugin.js';
export type { PendingHooksPluginOptions } from './server/fastify-plugin.js';
export { createNodeListener } from './server/node-listener.js';
export type { ClaimOptions, ClaimResult, DedupeRecord, DedupeStore, DurableCallback, RecoveredCallback } from './decision/dedupe-store.js';
export { createMemoryDedupeStore } from './decision/memory-dedupe-store.js';
export type { MemoryDedupeStoreOptions } from './decision/memory-dedupe-store.js';
export { createRedisDedupeStore } from './decision/redis-dedupe-store.js';
export type { IoredisClient, RedisDedupeStore, RedisDedupeStoreOptions } from './decision/redis-dedupe-store.js';
export { createStreamApiClient } from './stream-api/stream-api-client.js';
export { fromStreamChat } from './stream-api/stream-chat-adapter.js';
export type { ApplyResult, StreamApi } from './stream-api/stream-api.js';
export { defineHandlers } from './define-handlers.js';
export type { EventHandlerMap, HandlersModule } from './define-handlers.js';
export { createEventWebhooks } from './event-webhooks/event-registry.js';
export type { EventDispatchResult, EventWebhooks, EventWebhooksOptions } from './event-webhooks/event-registry.js';
export type { EventAck, EventRouteOptions } from './event-webhooks/event-route.js';
export { EventHandlerError } from './event-webhooks/event-handler.js';
export type { EventContext, EventDelivery, EventDeliveryChannel, EventErrorHandler, EventHandler } from './event-webhooks/event-handler.js';
export type { EventPattern, EventsMatching } from './event-webhooks/event-pattern.js';
export type {
  KnownEventType,
  StreamChannel,
  StreamEvent,
  StreamEventBase,
  StreamEventMap,
  StreamMember,
  StreamMessage,
  StreamReaction,
  UnlistedEventType,
  UnlistedStreamEvent,
} from './event-webhooks/stream-events.js';

// Library-internal building blocks (custom adapters, benchmarks): stable but not the main API.
export { HookError } from './core/hook-error.js';
export type { HookErrorCode } from './core/hook-error.js';
export type { NeutralRequest, NeutralResponse } from './core/neutral.js';
