import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../src/index.js';
import { pendingBody, postSigned, startHooksServer, type RunningServer } from './support/servers.js';

const MiB = 1024 * 1024;

/** A valid signed body of exactly `size` bytes (padding in a custom field). */
function bodyOfSize(size: number): string {
  const base = JSON.stringify({ message: { id: 'big', text: 'x', pad: '' } });
  return base.replace('"pad":""', `"pad":"${'a'.repeat(size - base.length)}"`);
}

describe('REST error answers (real server)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startHooksServer({}, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
  });
  afterAll(() => server.close());
  const url = () => `${server.url}/PassOnPendingMessage`;

  async function expectError(response: Response, status: number, code: string) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const json = (await response.json()) as { error: string; message: string };
    expect(json.error).toBe(code);
    expect(typeof json.message).toBe('string');
  }

  it('404 for an unknown path, 405 for a wrong method', async () => {
    await expectError(await postSigned(`${server.url}/Nope`, pendingBody()), 404, 'not_found');
    const get = await fetch(url());
    await expectError(get, 405, 'method_not_allowed');
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('415 for a wrong content type, checked before the signature', async () => {
    await expectError(await postSigned(url(), 'hello', { contentType: 'text/plain', secret: null }), 415, 'unsupported_media_type');
    await expectError(await postSigned(url(), pendingBody(), { headers: { 'content-encoding': 'br' } }), 415, 'unsupported_media_type');
    expect((await postSigned(url(), pendingBody(), { contentType: 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('accepts exactly 1 MiB and refuses 1 MiB + 1 with 413, raw or inflated', async () => {
    const exact = bodyOfSize(MiB);
    expect(Buffer.byteLength(exact)).toBe(MiB);
    expect((await postSigned(url(), exact)).status).toBe(200);
    const over = bodyOfSize(MiB + 1);
    await expectError(await postSigned(url(), over), 413, 'payload_too_large');
    // Small on the wire, too large once inflated: the limit applies to the inflated bytes too.
    const bomb = gzipSync(over);
    expect(bomb.length).toBeLessThan(MiB / 100);
    await expectError(await postSigned(url(), over, { wire: bomb, headers: { 'content-encoding': 'gzip' } }), 413, 'payload_too_large');
    expect((await postSigned(url(), exact, { wire: gzipSync(exact), headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
  });

  it('400 malformed_json for empty, broken, truncated or too deeply nested JSON', async () => {
    await expectError(await postSigned(url(), ''), 400, 'malformed_json');
    await expectError(await postSigned(url(), '{"message": {"id": "x"'), 400, 'malformed_json');
    await expectError(await postSigned(url(), 'nul'), 400, 'malformed_json');
    const deep = `{"message":{"id":"d","x":${'['.repeat(64)}${']'.repeat(64)}}}`;
    await expectError(await postSigned(url(), deep), 400, 'malformed_json');
    const ok = `{"message":{"id":"d","x":${'['.repeat(61)}${']'.repeat(61)}}}`;
    expect((await postSigned(url(), ok)).status).toBe(200);
    await expectError(await postSigned(url(), '[1]'.repeat(1) + ''), 400, 'invalid_payload');
    const hostile = '['.repeat(200_000);
    await expectError(await postSigned(url(), hostile), 400, 'malformed_json');
    await expectError(await postSigned(url(), pendingBody(), { wire: Buffer.from([0x1f, 0x8b, 1, 2, 3]) , headers: { 'content-encoding': 'gzip' } }), 400, 'malformed_json');
  });

  it('400 invalid_payload for valid JSON that is not a callback body', async () => {
    for (const body of ['"text"', '42', 'null', '[]', '{}', '{"message":{}}', '{"message":{"id":""}}', '{"message":{"id":"x","text":5}}', '{"message":{"id":"x"},"metadata":{"a":1}}']) {
      await expectError(await postSigned(url(), body), 400, 'invalid_payload');
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

  it('DeletedPendingMessage answers {"ok": true}', async () => {
    const response = await postSigned(`${server.url}/DeletedPendingMessage`, pendingBody());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it('survives a burst of hostile requests and keeps answering', async () => {
    const garbage = [
      () => postSigned(url(), Buffer.from([0, 1, 2, 255, 254])),
      () => postSigned(url(), '{"message":' + '{"a":'.repeat(100) + '1' + '}'.repeat(101)),
      () => postSigned(url(), '\u0000\u0000'),
      () => fetch(url(), { method: 'POST', body: 'x', headers: { 'content-type': 'application/json', 'x-signature': 'a'.repeat(10_000) } }),
    ];
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => garbage[i % garbage.length]!()));
    for (const answer of answers) expect(answer.status).toBeGreaterThanOrEqual(400), expect(answer.status).toBeLessThan(500);
    expect((await postSigned(url(), pendingBody())).status).toBe(200);
  });
});
