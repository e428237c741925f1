/** Hostile and odd input at the HTTP level: headers, encodings, bodies, keep-alive. */
import { request as httpRequest, Agent } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, type PendingMessageEvent } from '../../src/index.js';
import { appKey, appSecret, postSigned, startHooksServer, type RunningServer } from '../support/servers.js';
import { streamSignature } from '../support/sign-fixture.js';
import { MiB, uid, restBody, jsonOfSize, protoRequest, twirpJsonBody, twirpPath, expectRestError, expectTwirpError, rawHttp, headWith, portOf, register } from '../support/contract.js';

describe('hostile inputs', () => {
  let server: RunningServer;
  const seen: PendingMessageEvent[] = [];
  beforeAll(async () => {
    server = await startHooksServer({}, register(seen, new Map()));
  });
  afterAll(() => server.close());
  const url = () => `${server.url}/PassOnPendingMessage`;

  it('invalid UTF-8 in a REST JSON string is answered (no crash, no 5xx); Twirp JSON is malformed', async () => {
    const id = uid();
    const body = Buffer.concat([Buffer.from(`{"message":{"id":"${id}","text":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]);
    const response = await postSigned(url(), body);
    expect(response.status).toBeLessThan(500);
    expect([200, 400]).toContain(response.status);
    await expectTwirpError(await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, body), 400, 'malformed');
    expect((await postSigned(url(), restBody(uid()))).status).toBe(200);
  });

  it('huge headers are refused by HTTP (431) and the server keeps serving', async () => {
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Junk: ${'a'.repeat(100_000)}`], 2), '{}');
    expect([400, 431]).toContain(answer.status);
    expect((await postSigned(url(), restBody(uid()))).status).toBe(200);
  });

  it('200 concurrent signed requests (REST and Twirp) all answered correctly', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0
          ? postSigned(url(), restBody(uid(), i % 4 === 0 ? 'bad' : 'hi')).then(async (r) => [r.status, await r.json()] as const)
          : postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, protoRequest(uid()), { contentType: 'application/protobuf' }).then(async (r) => [r.status, (await r.arrayBuffer()).byteLength] as const),
      ),
    );
    for (const [status] of answers) expect(status).toBe(200);
    expect(answers.filter(([, b], i) => i % 4 === 0 && (b as { action: string }).action === 'delete')).toHaveLength(50);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('NaN / negative / huge / empty X-Webhook-Attempt never fails the request', async () => {
    for (const attempt of ['NaN', '-5', '0', '99999999999999999999', '', 'abc', '1.5', ' 2 ']) {
      const response = await postSigned(url(), restBody(uid()), { headers: { 'x-webhook-attempt': attempt } });
      expect({ attempt, status: response.status }).toEqual({ attempt, status: 200 });
    }
  });

  it('X-Webhook-Attempt that is not a positive integer reads as attempt 1 (NaN, empty, 0, below 1, garbage)', async () => {
    for (const attempt of ['NaN', '', 'abc', '0', '-5']) {
      const id = uid();
      await postSigned(url(), restBody(id), { headers: { 'x-webhook-attempt': attempt } });
      expect({ attempt, seen: seen.find((e) => e.message.id === id)!.attempt }).toEqual({ attempt, seen: 1 });
    }
  });

  it('duplicate X-Signature headers (two values) are refused with 401, not accepted or crashed', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature: ${sig}`, `X-Signature: ${sig}`], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_signature' });
  });

  it('duplicate Content-Type: node keeps the first; text/plain first → 415', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: text/plain', 'Content-Type: application/json', `X-Signature: ${sig}`], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(415);
    const ok = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', 'Content-Type: text/plain', `X-Signature: ${sig}`], Buffer.byteLength(body)), body);
    expect(ok.status).toBe(200);
  });

  it('duplicate X-Api-Key with several values is an unknown key (401)', async () => {
    const body = restBody(uid());
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Api-Key: ${appKey}`, 'X-Api-Key: evil', `X-Signature: ${streamSignature(appSecret, body)}`], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'unknown_api_key' });
  });

  it('X-Signature with surrounding whitespace (OWS) is accepted; with inner spaces refused', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature:    ${sig}   `], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(200);
    const spaced = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature: ${sig.slice(0, 10)} ${sig.slice(10)}`], Buffer.byteLength(body)), body);
    expect(spaced.status).toBe(401);
  });

  it('__proto__ / constructor keys do not pollute prototypes or crash', async () => {
    const id = uid();
    const body = `{"message":{"id":"${id}","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"user":{"id":"u","__proto__":{"x":1}}},"__proto__":{"polluted":true}}`;
    const response = await postSigned(url(), body);
    expect(response.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const tw = await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, `{"message":{"id":"${uid()}","custom":{"__proto__":{"polluted":true}}}}`);
    expect(tw.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a gzip body that is not valid gzip (signed over the garbage) → 400 malformed_json, not 500', async () => {
    const garbage = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]);
    await expectRestError(await postSigned(url(), garbage), 400, 'malformed_json');
    const truncated = gzipSync(restBody(uid())).subarray(0, 20);
    await expectRestError(await postSigned(url(), truncated, { headers: { 'content-encoding': 'gzip' } }), 400, 'malformed_json');
  });

  it('Content-Encoding: identity is accepted; an unsupported encoding is refused without a 5xx', async () => {
    expect((await postSigned(url(), restBody(uid()), { headers: { 'content-encoding': 'identity' } })).status).toBe(200);
    const br = await postSigned(url(), restBody(uid()), { headers: { 'content-encoding': 'br' } });
    expect(br.status).toBeGreaterThanOrEqual(400);
    expect(br.status).toBeLessThan(500);
  });

  it('keep-alive: several callbacks reuse one connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const reused: boolean[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const body = restBody(uid());
        await new Promise<void>((resolve, reject) => {
          const req = httpRequest(url(), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-signature': streamSignature(appSecret, body) } });
          req.on('response', (res) => {
            reused.push(req.reusedSocket);
            expect(res.statusCode).toBe(200);
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end(body);
        });
      }
    } finally {
      agent.destroy();
    }
    expect(reused).toEqual([false, true, true]);
  });

  it('an error answer keeps the connection usable (keep-alive after 401 / 413)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const statuses: number[] = [];
    try {
      for (const body of ['{"x":1}', jsonOfSize(MiB + 1), restBody(uid())]) {
        await new Promise<void>((resolve, reject) => {
          const headers: Record<string, string> = { 'content-type': 'application/json', 'x-signature': body.length > 100 && body.length < 1000 ? streamSignature(appSecret, body) : 'bad' };
          const req = httpRequest(url(), { method: 'POST', agent, headers });
          req.on('response', (res) => {
            statuses.push(res.statusCode ?? 0);
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end(body);
        });
      }
    } finally {
      agent.destroy();
    }
    expect(statuses).toEqual([401, 413, 200]);
  });

  it('exotic HTTP methods on a Twirp route are bad_route 404 in Twirp JSON', async () => {
    const answer = await rawHttp(portOf(server.url), `PROPFIND ${twirpPath('PassOnPendingMessage')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'bad_route' });
  });

  it('verifySignatures { twirp: false } turns the check off for Twirp only', async () => {
    const s2 = await startHooksServer({ verifySignatures: { twirp: false } }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    try {
      expect((await postSigned(`${s2.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()), { secret: null })).status).toBe(200);
      await expectRestError(await postSigned(`${s2.url}/PassOnPendingMessage`, restBody(uid()), { secret: null }), 401, 'invalid_signature');
    } finally {
      await s2.close();
    }
  });

  it('reasons with quotes and non-ASCII are valid JSON in REST and Twirp answers', async () => {
    const s3 = await startHooksServer({}, (hooks) => hooks.on('PassOnPendingMessage', () => decide.delete('a "q" ü \\ \n')));
    try {
      expect(await (await postSigned(`${s3.url}/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ action: 'delete', reason: 'a "q" ü \\ \n', timed_out: false });
      expect(await (await postSigned(`${s3.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()))).json()).toStrictEqual({ action: 'ACTION_DELETE', reason: 'a "q" ü \\ \n', timed_out: false, accepted: false });
    } finally {
      await s3.close();
    }
  });

  it('survives a burst of hostile REST requests (4xx each) and keeps answering', async () => {
    const garbage = [
      () => postSigned(url(), Buffer.from([0, 1, 2, 255, 254])),
      () => postSigned(url(), '{"message":' + '{"a":'.repeat(100) + '1' + '}'.repeat(101)),
      () => postSigned(url(), '\u0000\u0000'),
      () => fetch(url(), { method: 'POST', body: 'x', headers: { 'content-type': 'application/json', 'x-signature': 'a'.repeat(10_000) } }),
    ];
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => garbage[i % garbage.length]!()));
    for (const answer of answers) expect(answer.status).toBeGreaterThanOrEqual(400), expect(answer.status).toBeLessThan(500);
    expect((await postSigned(url(), restBody(uid()))).status).toBe(200);
  });

  it('query strings do not change routing; paths are case-sensitive', async () => {
    expect((await postSigned(`${url()}?x=1&y=2`, restBody(uid()))).status).toBe(200);
    await expectRestError(await postSigned(`${server.url}/passonpendingmessage`, restBody(uid())), 404, 'not_found');
  });
});
