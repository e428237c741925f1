import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventHandlerError, StreamEvent } from '../../src/index.js';
import { registerHandlers } from '../../src/define-handlers.js';
import { appKey, postSigned, startHooksServer, type RunningServer } from '../support/servers.js';

const event = (type: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type, cid: 'messaging:general', channel_id: 'general', channel_type: 'messaging', created_at: '2026-01-01T00:00:00Z', ...extra });

/** Resolves when `count` events were seen (handlers run after the answer). */
function collector() {
  const seen: string[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  return {
    seen,
    add(entry: string) {
      seen.push(entry);
      waiters = waiters.filter((w) => (seen.length >= w.count ? (w.resolve(), false) : true));
    },
    until(count: number) {
      return seen.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }));
    },
  };
}

describe('event webhooks: routing by type', () => {
  let server: RunningServer;
  const seen = collector();
  beforeAll(async () => {
    server = await startHooksServer({}, (hooks) => {
      hooks.events
        .on('message.new', (e) => seen.add(`exact:${e.type}:${e.message.id}`))
        .on(['reaction.new', 'reaction.deleted'], (e) => seen.add(`several:${e.type}:${e.reaction.type}`))
        .on('channel.*', (e) => seen.add(`wildcard:${e.type}`))
        .onAny((e) => seen.add(`any:${e.type}`));
    });
  });
  afterAll(() => server.close());

  it('runs the exact, several-type, wildcard and onAny handlers that match, and no others', async () => {
    const url = `${server.url}/events`;
    const answers = await Promise.all([
      postSigned(url, event('message.new', { message: { id: 'm1', text: 'hi' }, user: { id: 'u1' } }), { webhookId: 'w-1' }),
      postSigned(url, event('reaction.deleted', { message: { id: 'm1' }, reaction: { type: 'like', message_id: 'm1' }, user: { id: 'u1' } }), { webhookId: 'w-2' }),
      postSigned(url, event('channel.truncated'), { webhookId: 'w-3' }),
      postSigned(url, event('channel.frozen_in_2030'), { webhookId: 'w-4' }), // a type Stream may add later
      postSigned(url, event('user.updated', { user: { id: 'u1' } }), { webhookId: 'w-5' }),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ ok: true });
    }
    await seen.until(9);
    expect(seen.seen.sort()).toEqual(
      [
        'exact:message.new:m1',
        'any:message.new',
        'several:reaction.deleted:like',
        'any:reaction.deleted',
        'wildcard:channel.truncated',
        'any:channel.truncated',
        'wildcard:channel.frozen_in_2030',
        'any:channel.frozen_in_2030',
        'any:user.updated',
      ].sort(),
    );
    const lines = server.logs.filter((l) => l.msg === 'event');
    expect(lines.find((l) => l.webhookId === 'w-1')).toMatchObject({ eventType: 'message.new', outcome: 'handled', handlers: 2, apiKey: appKey, via: 'webhook' });
    expect(lines.find((l) => l.webhookId === 'w-1')?.latencyMs).toEqual(expect.any(Number));
  });

  it('serves templated URLs ({{.AppID}}/{{.EventType}}) and refuses a path naming another type', async () => {
    const before = seen.seen.length;
    const ok = await postSigned(`${server.url}/events/1234567/channel.created`, event('channel.created'), { webhookId: 't-1' });
    expect(ok.status).toBe(200);
    await seen.until(before + 2);
    expect(seen.seen.slice(before).sort()).toEqual(['any:channel.created', 'wildcard:channel.created']);

    const mismatch = await postSigned(`${server.url}/events/1234567/message.new`, event('channel.created'), { webhookId: 't-2' });
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toEqual({ error: 'invalid_payload', message: "the path names event type message.new but the body's type is channel.created" });

    for (const path of ['/events/1234567', '/events/a/b/c.d', '/events/12.3/message.new', '/events/1/notatype']) {
      const missing = await postSigned(`${server.url}${path}`, event('message.new'));
      expect(missing.status, path).toBe(404);
    }
    expect(seen.seen.length).toBe(before + 2);
  });

  it('refuses what is not an event with the REST error codes', async () => {
    const url = `${server.url}/events`;
    const cases: [string, number, string][] = [
      ['', 400, 'malformed_json'],
      ['{"type":', 400, 'malformed_json'],
      ['[1,2]', 400, 'invalid_payload'],
      ['{"cid":"x"}', 400, 'invalid_payload'],
      ['{"type":"has space"}', 400, 'invalid_payload'],
      [`${'['.repeat(100)}${']'.repeat(100)}`, 400, 'malformed_json'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await postSigned(url, body);
      expect(answer.status, body.slice(0, 20)).toBe(status);
      expect(((await answer.json()) as { error: string }).error).toBe(code);
    }
    const text = await postSigned(url, event('message.new'), { contentType: 'text/plain' });
    expect(text.status).toBe(415);
    const get = await fetch(url);
    expect(get.status).toBe(405);
  });
});

describe('event webhooks: signatures, apps and retries', () => {
  let server: RunningServer;
  let runs = 0;
  beforeAll(async () => {
    server = await startHooksServer({ apiKey: undefined, apiSecret: undefined, apps: [{ apiKey: appKey, secrets: ['test-secret-0123456789'] }, { apiKey: 'other-app', secrets: ['other-secret'] }] }, (hooks) => {
      hooks.events.on('message.new', async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      });
    });
  });
  afterAll(() => server.close());

  it('refuses a bad signature (401, connection closed) and an unknown or missing api key', async () => {
    const url = `${server.url}/events`;
    const bad = await postSigned(url, event('message.new'), { secret: 'wrong-secret' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('connection')).toBe('close');
    expect(await bad.json()).toEqual({ error: 'invalid_signature', message: 'unauthenticated' });
    const unsigned = await postSigned(url, event('message.new'), { secret: null });
    expect(unsigned.status).toBe(401);
    const unknown = await postSigned(url, event('message.new'), { apiKey: 'nobody' });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: string }).error).toBe('unknown_api_key');
    const missing = await postSigned(url, event('message.new'), { apiKey: null });
    expect(missing.status).toBe(401);
    const otherApp = await postSigned(url, event('message.new'), { apiKey: 'other-app', secret: 'other-secret', webhookId: 'other-1' });
    expect(otherApp.status).toBe(200);
    await expect.poll(() => runs).toBe(1);
    expect(server.logs.some((l) => l.msg === 'event refused' && l.code === 'invalid_signature')).toBe(true);
  });

  it('runs the handlers once for a webhook id retried during and after its handling', async () => {
    const before = runs;
    const body = event('message.new', { message: { id: 'm-retry' } });
    const first = await Promise.all([postSigned(`${server.url}/events`, body, { webhookId: 'retry-1' }), postSigned(`${server.url}/events`, body, { webhookId: 'retry-1', attempt: 2 })]);
    expect(first.map((a) => a.status)).toEqual([200, 200]);
    await expect.poll(() => server.logs.filter((l) => l.msg === 'event' && l.webhookId === 'retry-1').length).toBe(2);
    const later = await postSigned(`${server.url}/events`, body, { webhookId: 'retry-1', attempt: 3 });
    expect(later.status).toBe(200);
    await expect.poll(() => server.logs.filter((l) => l.msg === 'event' && l.webhookId === 'retry-1').length).toBe(3);
    expect(runs - before).toBe(1);
    const outcomes = server.logs.filter((l) => l.msg === 'event' && l.webhookId === 'retry-1').map((l) => l.outcome);
    expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'handled']);
    // The same id from another app is another delivery.
    const otherApp = await postSigned(`${server.url}/events`, body, { webhookId: 'retry-1', apiKey: 'other-app', secret: 'other-secret' });
    expect(otherApp.status).toBe(200);
    await expect.poll(() => runs - before).toBe(2);
  });
});

describe('event webhooks: acknowledgement and errors', () => {
  it('answers at once while a slow handler runs, and reports its error to onError', async () => {
    const errors: EventHandlerError[] = [];
    let finished = false;
    const server = await startHooksServer({}, (hooks) => {
      hooks.events
        .on('message.new', async () => {
          await new Promise((resolve) => setTimeout(resolve, 1500));
          finished = true;
          throw new Error('classifier down');
        })
        .onError((error) => {
          errors.push(error);
          throw new Error('the error reporter broke too');
        });
    });
    try {
      const started = performance.now();
      const answer = await postSigned(`${server.url}/events`, event('message.new', { message: { id: 'm-slow' } }), { webhookId: 'slow-1' });
      expect(answer.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(finished).toBe(false);
      await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
      expect(errors[0]!.message).toMatch(/message\.new handler failed on a message\.new event: classifier down/);
      expect((errors[0]!.cause as Error).message).toBe('classifier down');
      expect(errors[0]!.delivery).toMatchObject({ via: 'webhook', id: 'slow-1', apiKey: appKey });
      expect((errors[0]!.event as StreamEvent).type).toBe('message.new');
      await expect.poll(() => server.logs.find((l) => l.msg === 'onError handler failed')).toBeTruthy();
      expect(server.logs.find((l) => l.msg === 'event' && l.webhookId === 'slow-1')).toMatchObject({ outcome: 'failed' });
    } finally {
      await server.close();
    }
  });

  it('with ack: after-handlers, answers once the handlers settled: 500 when one failed, so Stream retries, and the retry runs them again', async () => {
    let attempts = 0;
    const server = await startHooksServer({ events: { ack: 'after-handlers' } }, (hooks) => {
      hooks.events.on('member.added', async (e) => {
        attempts++;
        if (attempts === 1) throw new Error(`first try for ${e.member.user_id}`);
      });
    });
    try {
      const body = event('member.added', { member: { user_id: 'u9' } });
      const failed = await postSigned(`${server.url}/events`, body, { webhookId: 'after-1' });
      expect(failed.status).toBe(500);
      expect(server.logs.find((l) => l.msg === 'event handler failed (no onError handler registered)')).toBeTruthy();
      const retried = await postSigned(`${server.url}/events`, body, { webhookId: 'after-1', attempt: 2 });
      expect(retried.status).toBe(200);
      const again = await postSigned(`${server.url}/events`, body, { webhookId: 'after-1', attempt: 3 });
      expect(again.status).toBe(200);
      expect(attempts).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('serves no event route while no event handler is registered, and never shadows the callback routes', async () => {
    const server = await startHooksServer({ twirp: { prefix: '' } });
    try {
      const none = await postSigned(`${server.url}/events`, event('message.new'));
      expect(none.status).toBe(404);
      server.hooks.events.onAny(() => {});
      expect((await postSigned(`${server.url}/events`, event('message.new'))).status).toBe(200);
      const passOn = await postSigned(`${server.url}/PassOnPendingMessage`, JSON.stringify({ message: { id: 'm1', text: 'x' } }));
      expect(await passOn.json()).toMatchObject({ action: 'keep_pending' });
      const twirpUnknown = await postSigned(`${server.url}/pendingmessage.v1.PendingMessageService/Nope`, '{}');
      expect(((await twirpUnknown.json()) as { code: string }).code).toBe('bad_route');
    } finally {
      await server.close();
    }
  });

  it('takes event handlers from a handlers module (pending-hooks serve)', async () => {
    const seen: string[] = [];
    const server = await startHooksServer({}, () => {});
    try {
      await registerHandlers(server.hooks, { default: { events: { 'message.*': (e: StreamEvent) => void seen.push(e.type) }, onEventError: () => {} } }, 'handlers.mjs');
      expect((await postSigned(`${server.url}/events`, event('message.deleted'))).status).toBe(200);
      await expect.poll(() => seen).toEqual(['message.deleted']);
      await expect(registerHandlers(server.hooks, { default: { events: {} } }, 'empty.mjs')).rejects.toThrow(/default export must be/);
    } finally {
      await server.close();
    }
  });
});
