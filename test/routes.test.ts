/** Which path and method reach which transport: prefixes, unknown paths, other methods. */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../src/index.js';
import { postSigned, startHooksServer, type RunningServer } from './support/servers.js';
import { service, uid, restBody, protoRequest, twirpJsonBody, expectRestError, expectTwirpError, register } from './support/contract.js';

describe('both prefixes empty, and custom prefixes', () => {
  let empty: RunningServer;
  let custom: RunningServer;
  beforeAll(async () => {
    const reg = register([], new Map());
    empty = await startHooksServer({ rest: { mount: '' }, twirp: { prefix: '' } }, reg);
    custom = await startHooksServer({ rest: { mount: '/hooks' }, twirp: { prefix: '/rpc' } }, reg);
  });
  afterAll(async () => {
    await empty.close();
    await custom.close();
  });

  it("mount '' and prefix '': /{package}.{Service}/{Method} is Twirp, /PassOnPendingMessage is REST", async () => {
    const twirp = await postSigned(`${empty.url}/${service}/PassOnPendingMessage`, twirpJsonBody(uid()));
    expect(await twirp.json()).toStrictEqual({ action: 'ACTION_COMMIT', reason: '', timed_out: false, accepted: false });
    const rest = await postSigned(`${empty.url}/PassOnPendingMessage`, restBody(uid()));
    expect(await rest.json()).toStrictEqual({ action: 'commit', timed_out: false });
    const pbAnswer = await postSigned(`${empty.url}/${service}/DeletedPendingMessage`, protoRequest(uid()), { contentType: 'application/protobuf' });
    expect(pbAnswer.status).toBe(200);
  });

  it("mount '' and prefix '': unknown Twirp-shaped paths → bad_route; every other path → REST not_found", async () => {
    await expectTwirpError(await postSigned(`${empty.url}/${service}/Nope`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${empty.url}/other.Service/Method`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await fetch(`${empty.url}/${service}/PassOnPendingMessage`), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${empty.url}/${service}/PassOnPendingMessage`, 'x', { contentType: 'text/plain' }), 404, 'bad_route');
    await expectRestError(await postSigned(`${empty.url}/nope`, restBody(uid())), 404, 'not_found');
    await expectRestError(await postSigned(`${empty.url}/a/b/c`, restBody(uid())), 404, 'not_found');
    await expectRestError(await fetch(`${empty.url}/`), 404, 'not_found');
    await expectRestError(await fetch(`${empty.url}/PassOnPendingMessage`), 405, 'method_not_allowed');
  });

  it('custom mount and prefix: routes, unknown paths in each protocol', async () => {
    expect(await (await postSigned(`${custom.url}/hooks/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ action: 'commit', timed_out: false });
    expect((await (await postSigned(`${custom.url}/rpc/${service}/PassOnPendingMessage`, twirpJsonBody(uid()))).json() as { action: string }).action).toBe('ACTION_COMMIT');
    await expectRestError(await postSigned(`${custom.url}/hooks/Nope`, restBody(uid())), 404, 'not_found');
    await expectRestError(await postSigned(`${custom.url}/PassOnPendingMessage`, restBody(uid())), 404, 'not_found');
    await expectTwirpError(await postSigned(`${custom.url}/rpc/${service}/Nope`, twirpJsonBody(uid())), 404, 'bad_route');
    // /twirp is not the Twirp prefix on this server: the REST not_found applies
    await expectRestError(await postSigned(`${custom.url}/twirp/${service}/PassOnPendingMessage`, twirpJsonBody(uid())), 404, 'not_found');
  });
});

describe('unknown paths and methods', () => {
  const hooksFor = (options: Parameters<typeof startHooksServer>[0] = {}) =>
    startHooksServer(options, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit('ok')));

  it('unknown paths answer the contract even with broken, empty or huge bodies (REST 404, Twirp bad_route)', async () => {
    const s = await hooksFor();
    try {
      for (const body of ['{bad', '', 'x'.repeat(1024 * 1024 + 1)]) {
        const rest = await fetch(`${s.url}/Nope`, { method: 'POST', headers: { 'content-type': body.length > 100 ? 'text/plain' : 'application/json' }, body });
        expect(rest.status).toBe(404);
        expect(((await rest.json()) as { error: string }).error).toBe('not_found');
        const twirp = await fetch(`${s.url}/twirp/x.v1.S/M`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect(twirp.status).toBe(404);
        expect(((await twirp.json()) as { code: string }).code).toBe('bad_route');
      }
    } finally {
      await s.close();
    }
  });

  it('every other method on a callback path is 405 (REST) or bad_route (Twirp)', async () => {
    const s = await hooksFor();
    try {
      const call = (path: string, method: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(`${s.url}${path}`, { method }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        });
      for (const method of ['PROPFIND', 'TRACE', 'SEARCH', 'QUERY']) {
        const rest = await call('/PassOnPendingMessage', method);
        expect(rest.status, method).toBe(405);
        const twirp = await call('/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage', method);
        expect(twirp.status, method).toBe(404);
        expect((JSON.parse(twirp.body) as { code: string }).code, method).toBe('bad_route');
      }
    } finally {
      await s.close();
    }
  });
});
