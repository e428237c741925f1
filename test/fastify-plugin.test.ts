import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPendingHooks, decide, pendingHooksPlugin } from '../src/index.js';
import { appKey, appSecret, pendingBody, postSigned } from './support/servers.js';

describe('the fastify plugin inside a host app', () => {
  const host = Fastify();
  let url = '';
  const hostErrors: string[] = [];
  beforeAll(async () => {
    host.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, `host:${body}`));
    host.setErrorHandler((error: Error, _request, reply) => {
      hostErrors.push(error.message);
      return reply.code(418).send({ host: 'error handler' });
    });
    host.post('/api/echo', async (request) => ({ echoed: request.body }));
    host.post('/api/text', async (request) => ({ got: request.body }));
    host.get('/api/boom', async () => {
      throw new Error('boom');
    });
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }) });
    hooks.on('PassOnPendingMessage', (event) => (event.message.text === 'bad' ? decide.delete('bad') : decide.commit()));
    await host.register(pendingHooksPlugin, { hooks, prefix: '/stream' });
    url = await host.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => host.close());

  it('serves signed callbacks under the prefix', async () => {
    const ok = await postSigned(`${url}/stream/PassOnPendingMessage`, pendingBody({ text: 'fine' }));
    expect(await ok.json()).toEqual({ action: 'commit', timed_out: false });
    const bad = await postSigned(`${url}/stream/PassOnPendingMessage`, pendingBody({ text: 'bad' }));
    expect(await bad.json()).toEqual({ action: 'delete', reason: 'bad', timed_out: false });
    const unsigned = await postSigned(`${url}/stream/PassOnPendingMessage`, pendingBody(), { secret: null });
    expect(unsigned.status).toBe(401);
  });

  it("leaves the host's JSON parser, text parser and error handler alone", async () => {
    const echo = await fetch(`${url}/api/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}' });
    expect(await echo.json()).toEqual({ echoed: { a: [1, 2] } });
    const text = await fetch(`${url}/api/text`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(await text.json()).toEqual({ got: 'host:hi' });
    const boom = await fetch(`${url}/api/boom`);
    expect(boom.status).toBe(418);
    expect(hostErrors).toEqual(['boom']);
  });

  it('answers unknown paths under its Twirp prefix as bad_route, and host 404s stay the host’s', async () => {
    const twirp = await fetch(`${url}/stream/twirp/pendingmessage.v1.PendingMessageService/Nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(twirp.status).toBe(404);
    expect(((await twirp.json()) as { code: string }).code).toBe('bad_route');
    const hostMissing = await fetch(`${url}/not-here`);
    expect(hostMissing.status).toBe(404);
    expect(((await hostMissing.json()) as { message: string }).message).toMatch(/Route GET:\/not-here not found/);
  });
});
