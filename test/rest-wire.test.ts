/**
 * The REST wire contract against a real listening server: answers, error shapes, the order of
 * the checks (route → method → content type → size → signature → decode → validate), size and
 * JSON-depth limits.
 */
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, type PendingMessageEvent } from '../src/index.js';
import { appKey, appSecret, pendingBody, postSigned, startHooksServer, type RunningServer } from './support/servers.js';
import { streamSignature } from './support/sign-fixture.js';
import { MiB, uid, restBody, jsonOfSize, twirpPath, expectRestError, expectTwirpError, register } from './support/contract.js';

describe('REST answers, errors and order of checks (default server)', () => {
  let server: RunningServer;
  const seen: PendingMessageEvent[] = [];
  const counts = new Map<string, number>();
  beforeAll(async () => {
    server = await startHooksServer({}, register(seen, counts));
  });
  afterAll(() => server.close());
  const passOn = () => `${server.url}/PassOnPendingMessage`;
  const deleted = () => `${server.url}/DeletedPendingMessage`;

  it('PassOn commit without reason: exactly {"action":"commit","timed_out":false} (reason omitted)', async () => {
    const response = await postSigned(passOn(), restBody(uid()));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const json = await response.json();
    expect(json).toStrictEqual({ action: 'commit', timed_out: false });
  });

  it('PassOn omits reason when the handler gives an empty reason', async () => {
    const json = await (await postSigned(passOn(), restBody(uid(), 'empty-reason'))).json();
    expect(json).toStrictEqual({ action: 'commit', timed_out: false });
  });

  it('PassOn delete with reason; keep_pending without', async () => {
    expect(await (await postSigned(passOn(), restBody(uid(), 'bad'))).json()).toStrictEqual({ action: 'delete', reason: 'blocklist', timed_out: false });
    expect(await (await postSigned(passOn(), restBody(uid(), 'keep'))).json()).toStrictEqual({ action: 'keep_pending', timed_out: false });
  });

  it('a handler that throws → fallback with reason handler_error, timed_out false, still 200', async () => {
    const response = await postSigned(passOn(), restBody(uid(), 'throw'));
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'handler_error', timed_out: false });
  });

  it('DeletedPendingMessage answers 200 exactly {"ok": true}, even when its handler throws', async () => {
    for (const text of ['hi', 'throw']) {
      const response = await postSigned(deleted(), restBody(uid(), text));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('{"ok":true}');
    }
  });

  it('unknown path → 404 not_found; wrong method → 405 method_not_allowed', async () => {
    await expectRestError(await postSigned(`${server.url}/Nope`, restBody(uid())), 404, 'not_found');
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage/extra`, restBody(uid())), 404, 'not_found');
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      await expectRestError(await fetch(passOn(), { method }), 405, 'method_not_allowed');
      await expectRestError(await fetch(deleted(), { method }), 405, 'method_not_allowed');
    }
    expect((await fetch(passOn(), { method: 'HEAD' })).status).toBe(405);
    expect((await fetch(passOn())).headers.get('allow')).toBe('POST');
  });

  it('wrong content type → 415 unsupported_media_type (text/plain, none, protobuf, json-ish)', async () => {
    for (const contentType of ['text/plain', 'application/protobuf', 'application/x-www-form-urlencoded', 'application/jsonx', 'text/json']) {
      await expectRestError(await postSigned(passOn(), restBody(uid()), { contentType }), 415, 'unsupported_media_type');
    }
    const none = await fetch(passOn(), { method: 'POST', body: new Uint8Array(Buffer.from(restBody(uid()))), headers: { 'x-signature': 'x' } });
    await expectRestError(none, 415, 'unsupported_media_type');
  });

  it('an unsupported Content-Encoding → 415 unsupported_media_type', async () => {
    await expectRestError(await postSigned(passOn(), restBody(uid()), { headers: { 'content-encoding': 'br' } }), 415, 'unsupported_media_type');
  });

  it('Content-Type is matched case-insensitively and with parameters (APPLICATION/JSON, charset)', async () => {
    for (const contentType of ['APPLICATION/JSON', 'Application/Json; Charset=UTF-8', 'application/json;charset=utf-8', 'application/json ; charset=utf-8']) {
      const response = await postSigned(passOn(), restBody(uid()), { contentType });
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 200 });
    }
  });

  it('order: route before method, method before content type', async () => {
    await expectRestError(await fetch(`${server.url}/Nope`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'not_found');
    await expectRestError(await fetch(passOn(), { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } }), 405, 'method_not_allowed');
  });

  it('order: content type before size (oversized text/plain unsigned → 415)', async () => {
    await expectRestError(await postSigned(passOn(), 'x'.repeat(MiB + 10), { contentType: 'text/plain', secret: null }), 415, 'unsupported_media_type');
  });

  it('order: an unsigned text/plain request is 415, not 401', async () => {
    await expectRestError(await postSigned(passOn(), 'hello', { contentType: 'text/plain', secret: null }), 415, 'unsupported_media_type');
  });

  it('order: size before signature (raw and inflated) → 413', async () => {
    await expectRestError(await postSigned(passOn(), jsonOfSize(MiB + 1), { secret: null }), 413, 'payload_too_large');
    const over = jsonOfSize(MiB + 1);
    await expectRestError(await postSigned(passOn(), over, { secret: null, wire: gzipSync(over), headers: { 'content-encoding': 'gzip' } }), 413, 'payload_too_large');
    await expectRestError(await postSigned(passOn(), over, { apiKey: 'unknown', wire: gzipSync(over) }), 413, 'payload_too_large');
  });

  it('order: signature before decode (unsigned malformed JSON → 401), decode before validate', async () => {
    await expectRestError(await postSigned(passOn(), '{"message":', { secret: null }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), '{"message":', { secret: 'wrong' }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), '{"message":', { apiKey: 'nope' }), 401, 'unknown_api_key');
    await expectRestError(await postSigned(passOn(), '', { secret: null }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), '{"message":'), 400, 'malformed_json');
    await expectRestError(await postSigned(passOn(), '{"message":{"text":"no id"}}'), 400, 'invalid_payload');
  });

  it('an empty body (signed) → 400 malformed_json, for both methods', async () => {
    await expectRestError(await postSigned(passOn(), ''), 400, 'malformed_json');
    await expectRestError(await postSigned(deleted(), ''), 400, 'malformed_json');
  });

  it('valid JSON that is not an object → 400 invalid_payload', async () => {
    for (const body of ['[]', '[{"message":{"id":"x"}}]', '"str"', '42', 'null', 'true', ' 1 ']) {
      await expectRestError(await postSigned(passOn(), body), 400, 'invalid_payload');
    }
  });

  it('a payload without message.id → 400 invalid_payload', async () => {
    for (const body of ['{}', '{"message":null}', '{"message":{}}', '{"message":{"id":""}}', '{"message":{"id":7}}', '{"message":"x"}']) {
      await expectRestError(await postSigned(passOn(), body), 400, 'invalid_payload');
    }
  });

  it('fields of the wrong type → 400 invalid_payload', async () => {
    for (const body of ['{"message":{"id":"x","text":5}}', '{"message":{"id":"x"},"metadata":{"a":1}}']) {
      await expectRestError(await postSigned(passOn(), body), 400, 'invalid_payload');
    }
  });

  it('keeps unknown fields and custom data', async () => {
    let seen: unknown;
    const s = await startHooksServer({}, (hooks) =>
      hooks.on('PassOnPendingMessage', (event) => {
        seen = event;
        return decide.commit();
      }),
    );
    try {
      const body = pendingBody({ id: 'custom-1', priority: 'high', user: { id: 'u', team: 'red' }, future_field: { a: [1] } }, { brand_new: true });
      expect((await postSigned(`${s.url}/PassOnPendingMessage`, body, { webhookId: 'w-1', attempt: 2 })).status).toBe(200);
      expect(seen).toMatchObject({
        method: 'PassOnPendingMessage',
        transport: 'rest',
        webhookId: 'w-1',
        attempt: 2,
        apiKey: 'test-key',
        metadata: { source: 'test' },
        requestInfo: { type: 'client', sdk: 'stream-chat-js' },
        message: { id: 'custom-1', priority: 'high', user: { id: 'u', team: 'red' }, future_field: { a: [1] } },
      });
    } finally {
      await s.close();
    }
  });

  it('broken JSON variants → 400 malformed_json', async () => {
    for (const body of ['{', '{"message":{"id":"x"}', 'nul', '{"a":1,}', '\u0000', '{"message":{"id":"x"}} trailing']) {
      await expectRestError(await postSigned(passOn(), body), 400, 'malformed_json');
    }
  });

  it('size: exactly 1 MiB raw is accepted, 1 MiB + 1 is 413', async () => {
    expect((await postSigned(passOn(), jsonOfSize(MiB, uid()))).status).toBe(200);
    await expectRestError(await postSigned(passOn(), jsonOfSize(MiB + 1)), 413, 'payload_too_large');
  });

  it('size: inflated exactly 1 MiB accepted, 1 MiB + 1 is 413 (Content-Encoding and magic-only)', async () => {
    const exact = jsonOfSize(MiB, uid());
    const over = jsonOfSize(MiB + 1);
    expect((await postSigned(passOn(), exact, { wire: gzipSync(exact), headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
    expect((await postSigned(passOn(), exact, { wire: gzipSync(exact) })).status).toBe(200);
    await expectRestError(await postSigned(passOn(), over, { wire: gzipSync(over), headers: { 'content-encoding': 'gzip' } }), 413, 'payload_too_large');
    await expectRestError(await postSigned(passOn(), over, { wire: gzipSync(over) }), 413, 'payload_too_large');
  });

  it('size: the raw limit applies to the compressed bytes too (stored gzip of exactly 1 MiB is > 1 MiB on the wire → 413)', async () => {
    const exact = jsonOfSize(MiB, uid());
    const wire = gzipSync(exact, { level: 0 });
    expect(wire.length).toBeGreaterThan(MiB);
    await expectRestError(await postSigned(passOn(), exact, { wire, headers: { 'content-encoding': 'gzip' } }), 413, 'payload_too_large');
  });

  it('size: chunked transfer (no Content-Length) gets the same inclusive limit', async () => {
    const send = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(passOn(), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, body), 'transfer-encoding': 'chunked' },
        });
        req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.on('error', reject);
        const bytes = Buffer.from(body);
        for (let i = 0; i < bytes.length; i += 65_536) req.write(bytes.subarray(i, i + 65_536));
        req.end();
      });
    expect(await send(jsonOfSize(MiB, uid()))).toBe(200);
    expect(await send(jsonOfSize(MiB + 1))).toBe(413);
  });

  it('JSON depth: exactly 64 (outermost = 1) passes, 65 is 400 malformed_json', async () => {
    // outer object = 1, message = 2, then 62 arrays → 64
    const d64 = `{"message":{"id":"${uid()}","deep":${'['.repeat(62)}${']'.repeat(62)}}}`;
    const d65 = `{"message":{"id":"d65","deep":${'['.repeat(63)}${']'.repeat(63)}}}`;
    expect((await postSigned(passOn(), d64)).status).toBe(200);
    await expectRestError(await postSigned(passOn(), d65), 400, 'malformed_json');
    // objects count like arrays
    const obj64 = `{"message":{"id":"${uid()}","deep":${'{"a":'.repeat(62)}1${'}'.repeat(62)}}}`;
    const obj65 = `{"message":{"id":"o65","deep":${'{"a":'.repeat(63)}1${'}'.repeat(63)}}}`;
    expect((await postSigned(passOn(), obj64)).status).toBe(200);
    await expectRestError(await postSigned(passOn(), obj65), 400, 'malformed_json');
  });

  it('JSON depth: brackets and escaped quotes inside strings do not count', async () => {
    const tricky = JSON.stringify({ message: { id: uid(), text: '['.repeat(500) + '\\"{{{' + '"'.repeat(3) + '\\' } });
    expect((await postSigned(passOn(), tricky)).status).toBe(200);
  });

  it('JSON depth: deep nesting past the limit inside a gzip body is refused (checked after inflate)', async () => {
    const d65 = `{"message":{"id":"d65","deep":${'['.repeat(63)}${']'.repeat(63)}}}`;
    await expectRestError(await postSigned(passOn(), d65, { wire: gzipSync(d65), headers: { 'content-encoding': 'gzip' } }), 400, 'malformed_json');
  });

  it('hostile nesting (200k brackets) is refused quickly, server keeps serving', async () => {
    const started = performance.now();
    await expectRestError(await postSigned(passOn(), '['.repeat(200_000)), 400, 'malformed_json');
    await expectRestError(await postSigned(passOn(), '{"a":'.repeat(100_000)), 400, 'malformed_json');
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await postSigned(passOn(), restBody(uid()))).status).toBe(200);
  });

  it('signature: hex is case-insensitive', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    expect((await postSigned(passOn(), body, { signature: sig.toUpperCase() })).status).toBe(200);
    const body2 = restBody(uid());
    const mixed2 = [...streamSignature(appSecret, body2)].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    expect((await postSigned(passOn(), body2, { signature: mixed2 })).status).toBe(200);
  });

  it('signature: missing, wrong, truncated, prefixed, spaced, over another body → 401 invalid_signature', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    for (const signature of ['', 'abc', sig.slice(0, 63), `${sig}0`, `sha256=${sig}`, `${sig.slice(0, 32)} ${sig.slice(32)}`, streamSignature(appSecret, body + ' '), 'z'.repeat(64), Buffer.from(sig, 'hex').toString('base64')]) {
      await expectRestError(await postSigned(passOn(), body, { signature }), 401, 'invalid_signature');
    }
    await expectRestError(await postSigned(passOn(), body, { secret: null }), 401, 'invalid_signature');
  });

  it('signature: verified over the raw bytes, not re-serialized JSON', async () => {
    const id = uid();
    const pretty = JSON.stringify({ message: { id, text: 'x' } }, null, 2);
    const compact = JSON.stringify({ message: { id, text: 'x' } });
    expect((await postSigned(passOn(), pretty)).status).toBe(200);
    await expectRestError(await postSigned(passOn(), pretty, { signature: streamSignature(appSecret, compact) }), 401, 'invalid_signature');
  });

  it('signature: computed over the compressed bytes is rejected (header or magic)', async () => {
    const body = restBody(uid());
    const wire = gzipSync(body);
    const overCompressed = streamSignature(appSecret, wire);
    await expectRestError(await postSigned(passOn(), body, { wire, signature: overCompressed, headers: { 'content-encoding': 'gzip' } }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), body, { wire, signature: overCompressed }), 401, 'invalid_signature');
  });

  it('gzip is recognised by Content-Encoding (any case) or by the magic bytes', async () => {
    for (const headers of [{ 'content-encoding': 'gzip' }, { 'content-encoding': 'GZIP' }, {}] as Record<string, string>[]) {
      const body = restBody(uid(), 'bad');
      const response = await postSigned(passOn(), body, { wire: gzipSync(body), headers });
      expect(await response.json()).toStrictEqual({ action: 'delete', reason: 'blocklist', timed_out: false });
    }
  });

  it('X-Api-Key with one app: missing accepted, unknown → 401 unknown_api_key', async () => {
    expect((await postSigned(passOn(), restBody(uid()), { apiKey: null })).status).toBe(200);
    await expectRestError(await postSigned(passOn(), restBody(uid()), { apiKey: 'other-key' }), 401, 'unknown_api_key');
    await expectRestError(await postSigned(passOn(), restBody(uid()), { apiKey: `${appKey}x` }), 401, 'unknown_api_key');
  });

  it('the event carries webhook id, attempt, api key, transport, metadata and request_info', async () => {
    const id = uid();
    await postSigned(passOn(), restBody(id, 'hello', { future: 1 }), { webhookId: `w-${id}`, attempt: 3 });
    const event = seen.find((e) => e.message.id === id)!;
    expect(event).toMatchObject({ webhookId: `w-${id}`, attempt: 3, apiKey: appKey, transport: 'rest', metadata: { source: 'contract' }, requestInfo: { user_agent: 'ua', sdk: 'stream-chat-js' } });
  });
});

describe('configurable JSON depth', () => {
  it('maxJsonDepth 3: depth 3 passes, 4 fails (REST malformed_json, Twirp malformed)', async () => {
    const server = await startHooksServer({ maxJsonDepth: 3 }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    try {
      const d3 = `{"message":{"id":"${uid()}","user":{"id":"u"}}}`;
      const d4 = `{"message":{"id":"x","user":{"id":"u","x":[]}}}`;
      expect((await postSigned(`${server.url}/PassOnPendingMessage`, d3)).status).toBe(200);
      await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, d4), 400, 'malformed_json');
      expect((await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, d3)).status).toBe(200);
      await expectTwirpError(await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, d4), 400, 'malformed');
    } finally {
      await server.close();
    }
  });
});
