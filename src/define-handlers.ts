import type { DeletedHandler, PassOnHandler } from './dispatch/handler.js';
import type { PendingHooks } from './pending-hooks.js';

/**
 * The shape of a handlers module for `pending-hooks serve <module>`: its default export is
 * either this object or a function that registers handlers on the hooks it is given.
 */
export type HandlersModule =
  | { PassOnPendingMessage: PassOnHandler; DeletedPendingMessage?: DeletedHandler }
  | ((hooks: PendingHooks) => void | Promise<void>);

/** Types a handlers module's default export: `export default defineHandlers({ PassOnPendingMessage: … })`. */
export function defineHandlers<T extends HandlersModule>(handlers: T): T {
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
  if (typeof handlers?.PassOnPendingMessage !== 'function') {
    throw new TypeError(
      `${from}: the default export must be defineHandlers({ PassOnPendingMessage(event, ctx) { … } }) or a function (hooks) => { hooks.on(…) }`,
    );
  }
  hooks.on('PassOnPendingMessage', handlers.PassOnPendingMessage as PassOnHandler);
  if (typeof handlers.DeletedPendingMessage === 'function') hooks.on('DeletedPendingMessage', handlers.DeletedPendingMessage as DeletedHandler);
}
