/**
 * twirp-ts serving the same proto (bench/twirp-ts/gen, generated with
 * bench/buf.gen.twirp-ts.yaml): the Twirp server a TypeScript user would pick. twirp-ts has
 * no signature hook, so the body is read first, its HMAC checked (key prepared once,
 * constant-time compare), and handed to twirp-ts as `req.rawBody` (which it supports).
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { announce, benchSecret, decideText, serverHost, serverPort } from '../lib/common.js';
import {
  Action,
  DeletedPendingMessageResponse,
  PendingMessageResponse,
} from '../twirp-ts/gen/pendingmessage/v1/pending_message.js';
import { createPendingMessageServiceServer } from '../twirp-ts/gen/pendingmessage/v1/pending_message.twirp.js';

const key = createSecretKey(Buffer.from(benchSecret, 'utf8'));
const hex = /^[0-9a-fA-F]{64}$/;

const twirp = createPendingMessageServiceServer({
  async PassOnPendingMessage(_ctx, request) {
    const decision = decideText(request.message?.text);
    return PendingMessageResponse.create({
      action: decision.action === 'delete' ? Action.DELETE : Action.COMMIT,
      reason: decision.reason ?? '',
    });
  },
  async DeletedPendingMessage() {
    return DeletedPendingMessageResponse.create();
  },
});
const handler = twirp.httpHandler();

function signed(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !hex.test(header)) return false;
  return timingSafeEqual(createHmac('sha256', key).update(body).digest(), Buffer.from(header, 'hex'));
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (!signed(body, req.headers['x-signature'])) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"code":"unauthenticated","msg":"invalid signature"}');
      return;
    }
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
    void handler(req, res);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(serverPort(), serverHost, () => {
  announce((server.address() as { port: number }).port);
});
