/**
 * CALLBACK_MODE_TWIRP: the same moderation handlers served over Twirp (protobuf and JSON) at
 * /twirp/pendingmessage.v1.PendingMessageService/{PassOnPendingMessage,DeletedPendingMessage}.
 * REST stays on as well; `twirp: { prefix: '' }` serves Twirp at the root instead.
 *
 *   STREAM_API_KEY=… STREAM_API_SECRET=… npx tsx examples/twirp-server.ts
 */
import { createPendingHooks, createServer } from 'pending-hooks';
import moderation from './moderation-handlers.js';

const hooks = createPendingHooks({
  apiKey: process.env.STREAM_API_KEY || 'dev-key',
  apiSecret: process.env.STREAM_API_SECRET || 'dev-secret',
  api: process.env.STREAM_API_SECRET ? { baseUrl: process.env.STREAM_BASE_URL } : undefined,
  twirp: { prefix: process.env.TWIRP_PREFIX ?? '/twirp' },
  timeoutMs: Number(process.env.TIMEOUT_MS ?? 500),
});
hooks.on('PassOnPendingMessage', moderation.PassOnPendingMessage).on('DeletedPendingMessage', moderation.DeletedPendingMessage);
const app = await createServer(hooks, { handleSignals: true });
const address = await app.listen({ port: Number(process.env.PORT ?? 3000) });
console.log(`Twirp: POST ${address}${hooks.options.twirpPrefix}/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`);
console.log('Try it: npx tsx examples/twirp-client-call.ts');
