/**
 * One signed Twirp call, the way Stream makes it, in both encodings — the protobuf request is
 * built with the generated protobuf-es types. Run examples/twirp-server.ts first.
 *
 *   npx tsx examples/twirp-client-call.ts [http://127.0.0.1:3000]
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PendingMessageRequestSchema, PendingMessageResponseSchema } from 'pending-hooks/proto';
import { sign } from 'pending-hooks';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const apiKey = process.env.STREAM_API_KEY || 'dev-key';
const secret = process.env.STREAM_API_SECRET || 'dev-secret';
const url = `${base}/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`;

// JSON encoding: proto field names (lowerCamelCase is accepted too).
const json = JSON.stringify({ message: { id: 'twirp-json-1', text: 'hello over Twirp JSON', user: { id: 'ann' } }, metadata: { source: 'example' } });
const jsonAnswer = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'x-signature': sign(secret, json), 'x-webhook-id': crypto.randomUUID() },
  body: json,
});
console.log('JSON     →', jsonAnswer.status, await jsonAnswer.text());

// Protobuf encoding: the signature covers the exact protobuf bytes.
const request = create(PendingMessageRequestSchema, { message: { id: 'twirp-proto-1', text: 'this has a badword in it', user: { id: 'bob' } } });
const bytes = toBinary(PendingMessageRequestSchema, request);
const protoAnswer = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/protobuf', 'x-api-key': apiKey, 'x-signature': sign(secret, bytes), 'x-webhook-id': crypto.randomUUID() },
  body: bytes,
});
const decoded = fromBinary(PendingMessageResponseSchema, new Uint8Array(await protoAnswer.arrayBuffer()));
console.log('protobuf →', protoAnswer.status, { action: decoded.action, reason: decoded.reason, timedOut: decoded.timedOut });
