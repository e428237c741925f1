/**
 * The floor: a bare fastify route that parses the JSON (fastify's own parser) and answers.
 * No signature check: the least work any Node server can do for this callback.
 */
import Fastify from 'fastify';
import { announce, decideText, restPath, serverHost, serverPort } from '../lib/common.js';

const app = Fastify({ logger: false });

app.post(restPath, async (request) => {
  const body = request.body as { message?: { text?: string | null } } | null;
  const decision = decideText(body?.message?.text);
  return { action: decision.action, ...(decision.reason ? { reason: decision.reason } : {}), timed_out: false };
});

await app.listen({ host: serverHost, port: serverPort() });
announce((app.server.address() as { port: number }).port);
