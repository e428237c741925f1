import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../src/index.js';
import { PendingMessageRequestSchema } from '../../src/gen/pendingmessage/v1/pending_message_pb.js';
import { firstStatus, openRaw } from '../support/raw-socket.js';
import { streamSignature } from '../support/sign-fixture.js';
import { appKey, appSecret, pendingBody, postSigned, startHooksServer, type RunningServer } from '../support/servers.js';

/**
 * Whatever bytes and headers arrive, signed or not, on either transport: the answer is a 4xx or
 * a Twirp error (or a decision, for a body that happens to be valid), never a 5xx, a crash or a
 * hang. Shedding is off here: a 503 `overloaded` is a correct answer on a busy machine, not a bug.
 */
let server: RunningServer;
let pool: Pool;
let port: number;

const paths = [
  '/PassOnPendingMessage',
  '/DeletedPendingMessage',
  '/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage',
  '/twirp/pendingmessage.v1.PendingMessageService/DeletedPendingMessage',
] as const;
const isTwirp = (path: string) => path.startsWith('/twirp/');

beforeAll(async () => {
  server = await startHooksServer({ shedding: false }, (hooks) => {
    hooks.on('PassOnPendingMessage', (event) => (event.message.text?.includes('x') ? decide.delete('x') : decide.commit()));
    hooks.on('DeletedPendingMessage', () => undefined);
  });
  port = (server.app.server.address() as AddressInfo).port;
  pool = new Pool(server.url, { connections: 4 });
});
afterAll(async () => {
  await pool.close();
  await server.close();
});

interface Sent {
  path: string;
  body: Uint8Array;
  contentType: string;
  gzip: boolean;
  signed: boolean;
}

async function send({ path, body, contentType, gzip, signed }: Sent): Promise<{ status: number; text: string }> {
  const wire = gzip ? gzipSync(body) : body;
  const headers: Record<string, string> = { 'content-type': contentType, 'x-api-key': appKey };
  headers['x-signature'] = signed ? streamSignature(appSecret, body) : 'ab'.repeat(32);
  if (gzip) headers['content-encoding'] = 'gzip';
  const response = await pool.request({ method: 'POST', path, headers, body: wire, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: response.statusCode, text: await response.body.text() };
}

/** The answer a request may get: a refusal in the contract's format, or a decision. */
function expectContractAnswer(sent: Sent, answer: { status: number; text: string }): void {
  expect(answer.status, `${sent.path} ${sent.contentType} → ${answer.status} ${answer.text}`).toBeLessThan(500);
  if (answer.status >= 400) {
    const error = JSON.parse(answer.text) as Record<string, unknown>;
    if (isTwirp(sent.path)) expect(error).toMatchObject({ code: expect.any(String), msg: expect.any(String) });
    else expect(error).toMatchObject({ error: expect.any(String), message: expect.any(String) });
  }
}

const contentTypes = fc.oneof(
  fc.constantFrom('application/json', 'application/protobuf', 'application/json; charset=utf-8', 'text/plain', ''),
  fc.string({ maxLength: 80 }).filter((value) => /^[\x20-\x7e]*$/.test(value)),
);

describe('property: no input gets a 5xx, a crash or a hang', () => {
  it('random bytes, unsigned, any path and content type: a 4xx / Twirp error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.uint8Array({ maxLength: 4096 }), contentTypes, fc.boolean(), async (path, body, contentType, gzip) => {
        const sent = { path, body, contentType, gzip, signed: false };
        const answer = await send(sent);
        expectContractAnswer(sent, answer);
        expect(answer.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes, validly signed: never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.uint8Array({ maxLength: 4096 }), fc.constantFrom('application/json', 'application/protobuf'), fc.boolean(), async (path, body, contentType, gzip) => {
        const sent = { path, body, contentType, gzip, signed: true };
        expectContractAnswer(sent, await send(sent));
      }),
      { numRuns: 150 },
    );
  });

  it('random JSON, validly signed, REST and Twirp JSON: never a 5xx', async () => {
    const message = fc.record(
      { id: fc.string({ maxLength: 300 }), text: fc.oneof(fc.string(), fc.constant(null), fc.integer()), user: fc.oneof(fc.jsonValue(), fc.record({ id: fc.string() })), custom: fc.jsonValue() },
      { requiredKeys: [] },
    );
    const document = fc.oneof(fc.jsonValue(), fc.record({ message: fc.oneof(message, fc.jsonValue()), metadata: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()), request_info: fc.jsonValue() }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), document, async (path, value) => {
        const sent = { path, body: Buffer.from(JSON.stringify(value) ?? 'null'), contentType: 'application/json', gzip: false, signed: true };
        expectContractAnswer(sent, await send(sent));
      }),
      { numRuns: 200 },
    );
  });

  it('mutated protobuf, validly signed: never a 5xx', async () => {
    const base = fc.record({ id: fc.string({ maxLength: 40 }), text: fc.string({ maxLength: 200 }) }).map(({ id, text }) =>
      toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: { id, text, user: { id: 'u' } }, metadata: { k: text } })),
    );
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    );
    await fc.assert(
      fc.asyncProperty(base, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom(paths[2], paths[3]), async (bytes, mutations, path) => {
        let body = Uint8Array.from(bytes);
        for (const change of mutations) {
          const at = body.length === 0 ? 0 : change.at % body.length;
          if (change.kind === 'flip' && body.length > 0) body[at] = change.byte;
          else if (change.kind === 'cut') body = body.subarray(0, at);
          else if (change.kind === 'insert') body = Uint8Array.from([...body.subarray(0, at), ...change.bytes, ...body.subarray(at)]);
        }
        const sent = { path, body, contentType: 'application/protobuf', gzip: false, signed: true };
        expectContractAnswer(sent, await send(sent));
      }),
      { numRuns: 200 },
    );
  });

  it('random header values on a raw socket (signed body): never a 5xx or a hang', async () => {
    const value = fc.string({ maxLength: 300 }).filter((text) => /^[\x20-\x7e\t]*$/.test(text));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.record({ 'Content-Type': value, 'Content-Encoding': value, 'X-Signature': value, 'X-Api-Key': value, 'X-Webhook-Id': value, 'X-Webhook-Attempt': value }, { requiredKeys: [] }),
        async (path, headers) => {
          const body = pendingBody();
          const lines = [`POST ${path} HTTP/1.1`, 'Host: x', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
          if (!('X-Signature' in headers)) lines.push(`X-Signature: ${streamSignature(appSecret, body)}`);
          if (!('Content-Type' in headers)) lines.push('Content-Type: application/json');
          for (const [name, text] of Object.entries(headers)) lines.push(`${name}: ${text}`);
          const raw = await openRaw(port);
          raw.socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
          expect(await raw.closed(10_000), 'answered and closed').toBe(true);
          const status = firstStatus(raw.received());
          expect(status, raw.received().slice(0, 300)).toBeDefined();
          expect(status!).toBeLessThan(500);
          raw.socket.destroy();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('still serves real callbacks afterwards', async () => {
    expect((await postSigned(`${server.url}/PassOnPendingMessage`, pendingBody())).status).toBe(200);
  });
});
