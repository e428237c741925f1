import type { DeletedHandler, PassOnHandler } from './dispatch/handler.js';
import type { EventErrorHandler, EventHandler } from './event-webhooks/event-handler.js';
import type { EventPattern, EventsMatching } from './event-webhooks/event-pattern.js';
import type { PendingHooks } from './pending-hooks.js';

/** Event webhook handlers by pattern: `{ 'message.new': fn, 'reaction.*': fn, '*': fn }`, each typed by its pattern. */
export type EventHandlerMap<P extends string = string> = { [K in P]: EventHandler<EventsMatching<K>> };

/** A handlers module's event handlers: by pattern, and who is told of their failures. */
interface EventHandlersPart<P extends string> {
  events?: EventHandlerMap<P>;
  onEventError?: EventErrorHandler;
}

/** The object form of a handlers module: pending-message handlers, event handlers, or both. */
type HandlersObject<P extends string> =
  | ({ PassOnPendingMessage: PassOnHandler; DeletedPendingMessage?: DeletedHandler } & EventHandlersPart<P>)
  | (EventHandlersPart<P> & { events: EventHandlerMap<P> });

/**
 * The shape of a handlers module for `pending-hooks serve <module>`: its default export is
 * either an object (pending-message handlers, event handlers, or both) or a function that
 * registers handlers on the hooks it is given.
 */
export type HandlersModule = HandlersObject<string> | ((hooks: PendingHooks) => void | Promise<void>);

/**
 * Types a handlers module's default export: `export default defineHandlers({ PassOnPendingMessage: … })`,
 * `defineHandlers({ events: { 'message.new'(event) { … } } })`, or a function `(hooks) => { … }`.
 */
export function defineHandlers<const P extends EventPattern, T extends HandlersObject<P>>(handlers: T & HandlersObject<P>): T;
export function defineHandlers<T extends (hooks: PendingHooks) => void | Promise<void>>(handlers: T): T;
export function defineHandlers(handlers: HandlersModule): HandlersModule {
  return handlers;
}

/** Registers a handlers module's default export on the hooks. */
export async function registerHandlers(hooks: PendingHooks, module: unknown, from: string): Promise<void> {
  const exported = (module as { default?: unknown }).default ?? module;
  if (typeof exported === 'function') {
    await (exported as (hooks: PendingHooks) => unknown)(hooks);
    return;
  }
  const handlers = exported as Partial<Record<string, unknown>>;
  const events = handlers?.events as Record<string, unknown> | undefined;
  if (typeof handlers?.PassOnPendingMessage !== 'function' && !hasEventHandlers(events)) {
    throw new TypeError(
      `${from}: the default export must be defineHandlers({ PassOnPendingMessage(event, ctx) { … } }), defineHandlers({ events: { 'message.new'(event, ctx) { … } } }) or a function (hooks) => { hooks.on(…) }`,
    );
  }
  if (typeof handlers.PassOnPendingMessage === 'function') hooks.on('PassOnPendingMessage', handlers.PassOnPendingMessage as PassOnHandler);
  if (typeof handlers.DeletedPendingMessage === 'function') hooks.on('DeletedPendingMessage', handlers.DeletedPendingMessage as DeletedHandler);
  for (const [pattern, handler] of Object.entries(events ?? {})) hooks.events.on(pattern, handler as EventHandler);
  if (handlers.onEventError !== undefined) hooks.events.onError(handlers.onEventError as EventErrorHandler);
}

/** Whether a module's `events` holds at least one handler. */
export function hasEventHandlers(events: unknown): boolean {
  return typeof events === 'object' && events !== null && Object.values(events).some((handler) => typeof handler === 'function');
}
