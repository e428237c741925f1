import { createHmac } from 'node:crypto';
import pino from 'pino';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPendingHooks, createServer, decide, sign, verify, type PendingMessageEvent } from '../src/index.js';
import { hmacDigest, prepareSecret } from '../src/signature/sign.js';
import { appKey, appSecret, pendingBody, postSigned, startHooksServer, type RunningServer } from './support/servers.js';
import { streamSignature } from './support/sign-fixture.js';
import { expectRestError, expectTwirpError, restBody, twirpJsonBody, twirpPath, uid } from './support/contract.js';

describe('REST signatures (real server)', () => {
  let server: RunningServer;
  let other: RunningServer;
  beforeAll(async () => {
    server = await startHooksServer({ apiSecret: [appSecret, 'old-secret'] }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => decide.commit()),
    );
    other = await startHooksServer(
      { apiKey: undefined, apiSecret: undefined, apps: [{ apiKey: 'app-a', secrets: ['secret-a'] }, { apiKey: 'app-b', secrets: ['secret-b'] }] },
      (hooks) => hooks.on('PassOnPendingMessage', () => decide.delete('b')),
    );
  });
  afterAll(async () => {
    await server.close();
    await other.close();
  });
  const url = () => `${server.url}/PassOnPendingMessage`;

  it('accepts a body signed with the current secret', async () => {
    const response = await postSigned(url(), pendingBody());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ action: 'commit', timed_out: false });
  });

  it('accepts the rotated (older) secret and upper-case hex', async () => {
    const body = pendingBody();
    expect((await postSigned(url(), body, { secret: 'old-secret' })).status).toBe(200);
    expect((await postSigned(url(), body, { signature: streamSignature(appSecret, body).toUpperCase() })).status).toBe(200);
  });

  it('refuses a missing, malformed, wrong or other-app signature with a bare 401 and logs why', async () => {
    const body = pendingBody();
    const cases: [string, Parameters<typeof postSigned>[2], RegExp][] = [
      ['missing', { secret: null }, /header missing/],
      ['malformed', { signature: 'not-hex' }, /64 hex/],
      ['wrong secret', { secret: 'wrong' }, /no configured secret matched/],
      ['other key', { secret: 'secret-a' }, /no configured secret matched/],
    ];
    for (const [name, options, why] of cases) {
      const before = server.logs.length;
      const response = await postSigned(url(), body, options);
      expect(response.status, name).toBe(401);
      expect(await response.json(), name).toEqual({ error: 'invalid_signature', message: 'unauthenticated' });
      const logged = server.logs.slice(before).find((line) => line.code === 'invalid_signature');
      expect(String(logged?.why), name).toMatch(why);
    }
  });

  /** A server of its own: the costlier explanations are given at most once a second per app. */
  async function withFreshApp(run: (target: string, fresh: RunningServer) => Promise<void>): Promise<void> {
    const fresh = await startHooksServer({}, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    try {
      await run(`${fresh.url}/PassOnPendingMessage`, fresh);
    } finally {
      await fresh.close();
    }
  }
  const whyLogged = (running: RunningServer, from: number) => String(running.logs.slice(from).find((l) => l.code === 'invalid_signature')?.why);

  it('refuses a signature computed over re-serialized JSON instead of the raw bytes', async () => {
    await withFreshApp(async (target, fresh) => {
      const raw = `{ "message": { "id": "m-raw", "text": "spaced out" } }`;
      const before = fresh.logs.length;
      const response = await postSigned(target, raw, { signature: streamSignature(appSecret, JSON.stringify(JSON.parse(raw))) });
      expect(response.status).toBe(401);
      expect(whyLogged(fresh, before)).toMatch(/re-serialized/);
    });
  });

  it('explains a mismatch in detail at most once a second per app, and never for large bodies', async () => {
    await withFreshApp(async (target, fresh) => {
      const raw = `{ "message": { "id": "m-raw", "text": "spaced out" } }`;
      const reserialized = { signature: streamSignature(appSecret, JSON.stringify(JSON.parse(raw))) };
      let before = fresh.logs.length;
      expect((await postSigned(target, raw, reserialized)).status).toBe(401);
      expect(whyLogged(fresh, before)).toMatch(/re-serialized/);
      before = fresh.logs.length;
      expect((await postSigned(target, raw, reserialized)).status).toBe(401);
      expect(whyLogged(fresh, before)).toMatch(/no configured secret matched/);
    });
    await withFreshApp(async (target, fresh) => {
      const large = JSON.stringify({ message: { id: 'm-large', text: ' '.repeat(20_000) } }).replace('{', '{ ');
      const before = fresh.logs.length;
      expect((await postSigned(target, large, { signature: streamSignature(appSecret, JSON.stringify(JSON.parse(large))) })).status).toBe(401);
      expect(whyLogged(fresh, before)).toMatch(/no configured secret matched/);
    });
  });

  it('verifies gzip bodies over the uncompressed bytes (header or magic) and refuses a signature over compressed bytes', async () => {
    const body = pendingBody();
    const zipped = gzipSync(body);
    const withHeader = await postSigned(url(), body, { wire: zipped, headers: { 'content-encoding': 'gzip' } });
    expect(withHeader.status).toBe(200);
    const byMagic = await postSigned(url(), body, { wire: zipped });
    expect(byMagic.status).toBe(200);
    await withFreshApp(async (target, fresh) => {
      const before = fresh.logs.length;
      const overCompressed = await postSigned(target, body, { wire: zipped, signature: streamSignature(appSecret, zipped), headers: { 'content-encoding': 'gzip' } });
      expect(overCompressed.status).toBe(401);
      expect(whyLogged(fresh, before)).toMatch(/compressed/);
    });
  });

  it('with one app a missing X-Api-Key is accepted; an unknown key is 401 unknown_api_key', async () => {
    expect((await postSigned(url(), pendingBody(), { apiKey: null })).status).toBe(200);
    const unknown = await postSigned(url(), pendingBody(), { apiKey: 'nope' });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: string }).error).toBe('unknown_api_key');
  });

  it('with several apps the key selects the secret, and a missing key is 401', async () => {
    const body = pendingBody();
    const target = `${other.url}/PassOnPendingMessage`;
    expect((await postSigned(target, body, { apiKey: 'app-b', secret: 'secret-b' })).status).toBe(200);
    expect((await postSigned(target, body, { apiKey: 'app-a', secret: 'secret-b' })).status).toBe(401);
    const missing = await postSigned(target, body, { apiKey: null, secret: 'secret-a' });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toBe('unknown_api_key');
  });

  it('exports sign/verify that agree with an independent HMAC', () => {
    const body = Buffer.from('{"a":1}');
    expect(sign('s', body)).toBe(streamSignature('s', body));
    expect(verify('s', body, streamSignature('s', body))).toBe(true);
    expect(verify(['x', 's'], body, streamSignature('s', body).toUpperCase())).toBe(true);
    expect(verify('s', body, streamSignature('t', body))).toBe(false);
    expect(verify('s', body, undefined)).toBe(false);
    expect(verify('s', body, 'zz')).toBe(false);
    expect(appKey).toBe('test-key');
  });
});

describe('signature-free development mode', () => {
  it('serves unsigned requests only when asked, with a loud warning', async () => {
    const server = await startHooksServer({ apiKey: undefined, apiSecret: undefined, verifySignatures: false }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => decide.commit()),
    );
    try {
      expect(server.logs.some((l) => l.level === 40 && /SIGNATURE CHECKS ARE OFF/.test(String(l.msg)))).toBe(true);
      const response = await postSigned(`${server.url}/PassOnPendingMessage`, pendingBody(), { secret: null, apiKey: null });
      expect(response.status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('prepared HMAC keys', () => {
  it('give the digest createHmac gives, for any key length and body size', () => {
    const secrets = ['s', 'bench-secret-4f1c9a7e2b8d6053', 'k'.repeat(64), 'k'.repeat(65), 'ключ-🔑'.repeat(20)];
    const sizes = [0, 1, 63, 64, 65, 1700, 5000, 64 * 1024, 64 * 1024 + 1, 300_000];
    for (const secret of secrets) {
      const prepared = prepareSecret(secret);
      for (const size of sizes) {
        const body = Buffer.alloc(size, size % 251);
        const want = createHmac('sha256', secret).update(body).digest('hex');
        expect(hmacDigest(prepared, body).toString('hex'), `${secret.length} chars, ${size} bytes`).toBe(want);
        // A view into a larger buffer, and the same key again (its outer buffer is reused).
        const padded = Buffer.concat([Buffer.from('xx'), body]);
        const view = new Uint8Array(padded.buffer, padded.byteOffset + 2, size);
        expect(hmacDigest(prepared, view).toString('hex')).toBe(createHmac('sha256', secret).update(view).digest('hex'));
      }
      expect(hmacDigest(prepared, 'a string body').toString('hex')).toBe(createHmac('sha256', secret).update('a string body').digest('hex'));
    }
  });
});

describe('X-Api-Key with several apps', () => {
  let server: RunningServer;
  const secondKey = 'second-key';
  const secondSecret = 'second-secret-abcdef';
  const seen: PendingMessageEvent[] = [];
  beforeAll(async () => {
    const logger = pino({ level: 'silent' });
    const hooks = createPendingHooks({ apps: [{ apiKey: appKey, secrets: [appSecret] }, { apiKey: secondKey, secrets: [secondSecret, 'old-secret-xyz'] }], logger });
    hooks.on('PassOnPendingMessage', (event) => (seen.push(event), decide.commit()));
    const app = await createServer(hooks);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    server = { url: address, hooks, app, logs: [], close: () => app.close() };
  });
  afterAll(() => server.close());

  it('a missing key → 401 unknown_api_key (REST) / unauthenticated (Twirp)', async () => {
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: null }), 401, 'unknown_api_key');
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: '' }), 401, 'unknown_api_key');
    await expectTwirpError(await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()), { apiKey: null }), 401, 'unauthenticated');
  });

  it('each key selects its own secrets; an unknown key is 401; rotation secrets accepted', async () => {
    expect((await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: appKey })).status).toBe(200);
    expect((await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: secondKey, secret: secondSecret })).status).toBe(200);
    expect((await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: secondKey, secret: 'old-secret-xyz' })).status).toBe(200);
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: secondKey, secret: appSecret }), 401, 'invalid_signature');
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: 'third' }), 401, 'unknown_api_key');
  });

  it('dedupe key is (api key, X-Webhook-Id): the same id under two apps runs the handler twice', async () => {
    const id = uid();
    const wh = `w-${id}`;
    await postSigned(`${server.url}/PassOnPendingMessage`, restBody(id), { apiKey: appKey, webhookId: wh });
    await postSigned(`${server.url}/PassOnPendingMessage`, restBody(id), { apiKey: secondKey, secret: secondSecret, webhookId: wh });
    await postSigned(`${server.url}/PassOnPendingMessage`, restBody(id), { apiKey: secondKey, secret: secondSecret, webhookId: wh });
    expect(seen.filter((e) => e.message.id === id).map((e) => e.apiKey).sort()).toEqual([appKey, secondKey].sort());
  });
});
