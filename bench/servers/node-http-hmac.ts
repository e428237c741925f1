/**
 * Plain node:http by hand: the raw body, HMAC-SHA256 with a key prepared once, constant-time
 * compare, JSON.parse, the same trivial handler. No framework at all: the least a careful
 * developer can write that still checks the signature.
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { announce, benchSecret, restAnswer, restPath, serverHost, serverPort } from '../lib/common.js';

const key = createSecretKey(Buffer.from(benchSecret, 'utf8'));
const hex = /^[0-9a-fA-F]{64}$/;
const jsonHeaders = { 'content-type': 'application/json; charset=utf-8' };

function answer(response: import('node:http').ServerResponse, status: number, body: string): void {
  response.writeHead(status, { ...jsonHeaders, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

const server = createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== restPath) {
    request.resume();
    return answer(response, 404, '{"error":"not_found"}');
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const signature = request.headers['x-signature'];
    if (typeof signature !== 'string' || !hex.test(signature)) return answer(response, 401, '{"error":"invalid_signature"}');
    const digest = createHmac('sha256', key).update(body).digest();
    if (!timingSafeEqual(digest, Buffer.from(signature, 'hex'))) return answer(response, 401, '{"error":"invalid_signature"}');
    let payload: { message?: { text?: string | null } };
    try {
      payload = JSON.parse(body.toString('utf8')) as typeof payload;
    } catch {
      return answer(response, 400, '{"error":"malformed_json"}');
    }
    answer(response, 200, restAnswer(payload?.message?.text));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(serverPort(), serverHost, () => announce((server.address() as { port: number }).port));
