import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventWebhooks, createPendingHooks, defineHandlers, pendingHooksPlugin, type StreamEvent } from '../../src/index.js';
import { appKey, appSecret, postSigned } from '../support/servers.js';

describe('event webhooks through the fastify plugin', () => {
  const host = Fastify();
  let url = '';
  const seen: string[] = [];
  beforeAll(async () => {
    host.get('/:a/:b', async () => ({ host: 'route' }));
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }) });
    hooks.events.on('reaction.*', (event, { delivery }) => void seen.push(`${event.type}:${delivery.appId ?? '-'}:${delivery.id}`));
    await host.register(pendingHooksPlugin, { hooks, prefix: '/stream' });
    url = await host.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => host.close());

  it('serves the plain and templated event paths under the prefix, with the same refusals', async () => {
    const body = JSON.stringify({ type: 'reaction.new', reaction: { type: 'love', message_id: 'm1' } });
    expect((await postSigned(`${url}/stream/events`, body, { webhookId: 'f-1' })).status).toBe(200);
    expect((await postSigned(`${url}/stream/events/42/reaction.new`, body, { webhookId: 'f-2' })).status).toBe(200);
    const mismatch = await postSigned(`${url}/stream/events/42/reaction.deleted`, body, { webhookId: 'f-3' });
    expect(mismatch.status).toBe(400);
    const bad = await postSigned(`${url}/stream/events`, body, { secret: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('connection')).toBe('close');
    const tooLarge = await postSigned(`${url}/stream/events`, JSON.stringify({ type: 'reaction.new', pad: 'x'.repeat(1024 * 1024) }));
    expect(tooLarge.status).toBe(413);
    await expect.poll(() => seen.sort()).toEqual(['reaction.new:-:f-1', 'reaction.new:42:f-2']);
    expect(await (await fetch(`${url}/other/thing`)).json()).toEqual({ host: 'route' });
    expect((await fetch(`${url}/stream/events/42/not-a-type`)).status).toBe(404);
  });
});

describe('event handler types (checked by tsc)', () => {
  it('types payloads by pattern, keeps unlisted types apart, and checks handlers modules', () => {
    const events = createEventWebhooks({ logger: pino({ level: 'silent' }) });
    events.on('message.new', (event) => {
      const id: string = event.message.id;
      void id;
    });
    events.on(['member.added', 'member.removed'], (event) => {
      const role: string | undefined = event.member.role;
      void role;
    });
    events.on('message.*', (event) => {
      if (event.type === 'message.deleted') {
        const hard: boolean | undefined = event.hard_delete;
        void hard;
      } else if (event.type !== 'message.new' && event.type !== 'message.updated' && event.type !== 'message.read' && event.type !== 'message.flagged') {
        // A type Stream adds later: only `type` is known.
        const type: string = event.type;
        // @ts-expect-error an unlisted event has no typed message
        const id: string = event.message.id;
        void type;
        void id;
      }
    });
    events.onAny((event: StreamEvent) => void event.type);
    // @ts-expect-error a message.new event has no reaction
    events.on('message.new', (event) => void event.reaction.type);
    // @ts-expect-error handlers take the event, not a string
    events.on('channel.created', (event: string) => void event);
    defineHandlers({ events: { 'user.banned': (event) => void event.user.id, 'call.*': (event) => void event.type } });
    // @ts-expect-error the handler's type follows its key
    defineHandlers({ events: { 'user.banned': (event) => void event.message.id } });
    expect(events.size).toBe(7); // one per pattern: the two-type registration counts twice
  });
});
