/**
 * Mounting pending-hooks in an existing fastify app: the plugin is encapsulated, so the host's
 * JSON parser, hooks and error handler are untouched. Routes land at /stream/PassOnPendingMessage
 * (REST) and /stream/twirp/pendingmessage.v1.PendingMessageService/* (Twirp).
 */
import Fastify from 'fastify';
import { createPendingHooks, decide, pendingHooksPlugin } from 'pending-hooks';

const app = Fastify({ logger: true });
app.get('/health', async () => ({ ok: true }));
app.post('/api/echo', async (request) => request.body);

const hooks = createPendingHooks({
  apiKey: process.env.STREAM_API_KEY || 'dev-key',
  apiSecret: process.env.STREAM_API_SECRET || 'dev-secret',
  api: process.env.STREAM_API_SECRET ? {} : undefined,
  logger: app.log as never,
});
hooks.on('PassOnPendingMessage', () => decide.commit());
await app.register(pendingHooksPlugin, { hooks, prefix: '/stream' });
await app.listen({ port: Number(process.env.PORT ?? 3000) });
