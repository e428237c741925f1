/** The smallest useful server: one app, one handler, REST and Twirp on port 3000 (the README's five lines, typed). */
import { createPendingHooks, createServer, decide } from 'pending-hooks';

const hooks = createPendingHooks({ apiKey: process.env.STREAM_API_KEY!, apiSecret: process.env.STREAM_API_SECRET! }); // dry run: add `api: {}` to apply decisions at Stream
hooks.on('PassOnPendingMessage', (event) => (/badword/i.test(event.message.text ?? '') ? decide.delete('blocklist') : decide.commit()));
await (await createServer(hooks, { handleSignals: true })).listen({ port: Number(process.env.PORT ?? 3000) });
