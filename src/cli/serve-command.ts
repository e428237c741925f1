import { createPendingHooks } from '../pending-hooks.js';
import { createRedisDedupeStore } from '../decision/redis-dedupe-store.js';
import { createServer } from '../server/create-server.js';
import { importHandlersModule, registerHandlersModule } from './handlers-module.js';
import { CliRuntimeError, ConfigError, resolveServeSettings, type ServeFlags } from './serve-config.js';

export { importHandlersModule } from './handlers-module.js';

/** One line for a listen failure: what went wrong and what to change. */
function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'EADDRINUSE':
      return new CliRuntimeError(`port ${port} on ${host} is already in use (EADDRINUSE): stop what listens there or choose another --port / PORT`);
    case 'EACCES':
      return new CliRuntimeError(`not allowed to listen on port ${port} (EACCES): ports below 1024 need privileges; choose a higher --port / PORT`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new ConfigError(`cannot listen on host ${JSON.stringify(host)}: no such host name (${String(code)}); set --host / HOST to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`cannot listen on ${host}: not an address of this machine (EADDRNOTAVAIL); set --host / HOST to one, e.g. 127.0.0.1 or 0.0.0.0`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}

/** `pending-hooks serve <module>`: a standalone server for the module's handlers. */
export async function serveCommand(modulePath: string, flags: ServeFlags): Promise<void> {
  const settings = await resolveServeSettings(flags, process.env);
  // The module first: a wrong path or a broken module is reported before anything is logged.
  const module = await importHandlersModule(modulePath);
  let hooks: ReturnType<typeof createPendingHooks>;
  // The Redis store connects when made: made last, and closed again if the hooks cannot start.
  const dedupe = settings.redisUrl ? createRedisDedupeStore({ url: settings.redisUrl }) : undefined;
  try {
    hooks = createPendingHooks(dedupe ? { ...settings.hooks, dedupe } : settings.hooks);
  } catch (error) {
    await dedupe?.close?.();
    // createPendingHooks refuses bad options with TypeError / RangeError: here they came from flags, env or --config.
    if (error instanceof TypeError || error instanceof RangeError) throw new ConfigError(error.message.replace(/^pending-hooks: /, ''));
    throw error;
  }
  try {
    await registerHandlersModule(hooks, module, modulePath);
  } catch (error) {
    await hooks.close();
    throw error;
  }
  const app = await createServer(hooks, { handleSignals: true, health: true, ...(settings.maxConnections !== undefined ? { maxConnections: settings.maxConnections } : {}) });
  let address: string;
  try {
    address = await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    // Closing also removes the signal and exit handlers, whose exit(0) would hide the failure.
    await app.close();
    throw listenError(error, settings.host, settings.port);
  }
  const { options } = hooks;
  hooks.logger.info(
    {
      address,
      rest: `${options.restMount}/PassOnPendingMessage`,
      twirp: options.twirpPrefix === undefined ? 'off' : `${options.twirpPrefix}/pendingmessage.v1.PendingMessageService/*`,
      events: hooks.events.size === 0 ? 'off (no event handlers)' : `${hooks.eventRoute.path} (ack ${hooks.eventRoute.ack})`,
      apps: options.apiKeys,
      timeoutMs: options.timeoutMs,
      fallback: options.fallback,
      timing: options.timing,
      dryRun: options.dryRun,
    },
    `pending-hooks serving on ${address}`,
  );
}
