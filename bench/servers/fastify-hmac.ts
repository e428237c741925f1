/**
 * A careful hand-written fastify route: the raw body as a Buffer, HMAC-SHA256 with a key
 * prepared once, constant-time compare, JSON.parse, the same trivial handler. What a
 * developer who read REFERENCE.md section 2 would write by hand, without a framework.
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import { announce, benchSecret, restAnswer, restPath, serverHost, serverPort } from '../lib/common.js';

const key = createSecretKey(Buffer.from(benchSecret, 'utf8'));
const hex = /^[0-9a-fA-F]{64}$/;

const app = Fastify({ logger: false });
app.removeContentTypeParser('application/json');
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

app.post(restPath, (request, reply) => {
  const body = request.body as Buffer;
  const signature = request.headers['x-signature'];
  if (typeof signature !== 'string' || !hex.test(signature)) {
    return reply.code(401).send({ error: 'invalid_signature' });
  }
  const digest = createHmac('sha256', key).update(body).digest();
  if (!timingSafeEqual(digest, Buffer.from(signature, 'hex'))) return reply.code(401).send({ error: 'invalid_signature' });
  let payload: { message?: { text?: string | null } };
  try {
    payload = JSON.parse(body.toString('utf8')) as typeof payload;
  } catch {
    return reply.code(400).send({ error: 'malformed_json' });
  }
  return reply.header('content-type', 'application/json; charset=utf-8').send(restAnswer(payload?.message?.text));
});

await app.listen({ host: serverHost, port: serverPort() });
announce((app.server.address() as { port: number }).port);
