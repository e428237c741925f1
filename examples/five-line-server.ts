/** The smallest useful server: one app, one handler, REST and Twirp on port 3000. */
import { createPendingHooks, createServer, decide } from '../src/index.js';

const hooks = createPendingHooks({ apiKey: process.env.STREAM_API_KEY!, apiSecret: process.env.STREAM_API_SECRET!, api: {} });
hooks.on('PassOnPendingMessage', (event) => (/badword/i.test(event.message.text ?? '') ? decide.delete('blocklist') : decide.commit()));
await (await createServer(hooks, { handleSignals: true })).listen({ port: 3000 });
