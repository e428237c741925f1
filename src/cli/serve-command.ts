import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerHandlers } from '../define-handlers.js';
import { createPendingHooks } from '../pending-hooks.js';
import { createServer } from '../server/create-server.js';
import { resolveServeSettings, type ServeFlags } from './serve-config.js';

/** Imports a handlers module; TypeScript modules load through tsx, so handlers need no build step. */
export async function importHandlersModule(path: string): Promise<unknown> {
  const absolute = resolve(path);
  if (/\.[cm]?tsx?$/.test(absolute)) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  return import(pathToFileURL(absolute).href);
}

/** `pending-hooks serve <module>`: a standalone server for the module's handlers. */
export async function serveCommand(modulePath: string, flags: ServeFlags): Promise<void> {
  const settings = await resolveServeSettings(flags, process.env);
  const hooks = createPendingHooks(settings.hooks);
  await registerHandlers(hooks, await importHandlersModule(modulePath), modulePath);
  const app = await createServer(hooks, { handleSignals: true, health: true, ...(settings.maxConnections !== undefined ? { maxConnections: settings.maxConnections } : {}) });
  const address = await app.listen({ host: settings.host, port: settings.port });
  const { options } = hooks;
  hooks.logger.info(
    {
      address,
      rest: `${options.restMount}/PassOnPendingMessage`,
      twirp: options.twirpPrefix === undefined ? 'off' : `${options.twirpPrefix}/pendingmessage.v1.PendingMessageService/*`,
      apps: options.apiKeys,
      timeoutMs: options.timeoutMs,
      fallback: options.fallback,
      timing: options.timing,
      dryRun: options.dryRun,
    },
    `pending-hooks serving on ${address}`,
  );
}
