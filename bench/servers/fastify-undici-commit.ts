/**
 * The hand-written reference for the applied rows: a careful fastify route that does what
 * pending-hooks does for a callback with an API configured — raw Buffer body, HMAC-SHA256 with
 * a prepared key, constant-time compare, JSON.parse, the trivial handler, then the decision
 * applied through Stream's API with an undici `Pool` (`POST /messages/{id}/commit` or
 * `DELETE /messages/{id}?hard=true`, server JWT signed once), and only then the answer.
 * No budget, no retry, no dedupe: the least a developer can write that really applies the
 * decision. `PH_BENCH_API_URL` is the API's base URL (bench/servers/mock-api.ts).
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import { Pool } from 'undici';
import { announce, benchApiKey, benchSecret, decideText, restAnswer, restPath, serverHost, serverPort } from '../lib/common.js';

const apiUrl = process.env.PH_BENCH_API_URL;
if (!apiUrl) throw new Error('PH_BENCH_API_URL is required');

const key = createSecretKey(Buffer.from(benchSecret, 'utf8'));
const hex = /^[0-9a-fA-F]{64}$/;
const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');
const unsigned = `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url('{"server":true}')}`;
const token = `${unsigned}.${createHmac('sha256', benchSecret).update(unsigned).digest('base64url')}`;
const apiHeaders = { authorization: token, 'stream-auth-type': 'jwt', accept: 'application/json' };
const commitHeaders = { ...apiHeaders, 'content-type': 'application/json' };
const pool = new Pool(apiUrl);
const query = `api_key=${encodeURIComponent(benchApiKey)}`;

const app = Fastify({ logger: false });
app.removeContentTypeParser('application/json');
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

app.post(restPath, async (request, reply) => {
  const body = request.body as Buffer;
  const signature = request.headers['x-signature'];
  if (typeof signature !== 'string' || !hex.test(signature)) {
    return reply.code(401).send({ error: 'invalid_signature' });
  }
  const digest = createHmac('sha256', key).update(body).digest();
  if (!timingSafeEqual(digest, Buffer.from(signature, 'hex'))) return reply.code(401).send({ error: 'invalid_signature' });
  let payload: { message?: { id?: string; text?: string | null } };
  try {
    payload = JSON.parse(body.toString('utf8')) as typeof payload;
  } catch {
    return reply.code(400).send({ error: 'malformed_json' });
  }
  const id = payload?.message?.id;
  if (typeof id !== 'string' || id === '') return reply.code(400).send({ error: 'invalid_payload' });
  const text = payload.message?.text;
  const commit = decideText(text).action === 'commit';
  const path = encodeURIComponent(id);
  const response = await pool.request(
    commit
      ? { method: 'POST', path: `/messages/${path}/commit?${query}`, headers: commitHeaders, body: '{}' }
      : { method: 'DELETE', path: `/messages/${path}?hard=true&${query}`, headers: apiHeaders },
  );
  await response.body.dump();
  if (response.statusCode >= 300) return reply.code(503).send({ error: 'decision_not_applied' });
  return reply.header('content-type', 'application/json; charset=utf-8').send(restAnswer(text));
});

await app.listen({ host: serverHost, port: serverPort() });
announce((app.server.address() as { port: number }).port);
