/**
 * Stream's other events beside the pending-message callbacks, on the same server: typed handlers
 * by event type, a wildcard, a catch-all, and one place where handler failures end up.
 * Point a `webhook` hook of the app's `event_hooks` at `https://host/events` (or
 * `https://host/events/{{.AppID}}/{{.EventType}}`); see README "Event webhooks".
 */
import { createPendingHooks, createServer, decide } from 'pending-hooks';

const hooks = createPendingHooks({ apiKey: process.env.STREAM_API_KEY!, apiSecret: process.env.STREAM_API_SECRET! });
hooks.on('PassOnPendingMessage', () => decide.commit());

const reactions = new Map<string, number>();
hooks.events
  .on('message.new', (event, { log }) => log.info({ messageId: event.message.id, user: event.user?.id }, 'new message'))
  .on(['member.added', 'member.removed'], (event, { log }) => log.info({ cid: event.cid, type: event.type }, 'membership changed'))
  .on('reaction.*', (event) => {
    const key = event.type;
    reactions.set(key, (reactions.get(key) ?? 0) + 1);
  })
  .onAny((event, { delivery }) => {
    // Every event lands here too, also types Stream adds after this was written.
    if (delivery.attempt > 1) hooks.logger.info({ type: event.type, attempt: delivery.attempt }, 'a retried delivery');
  })
  .onError((error) => hooks.logger.error({ err: error.cause, type: error.event.type, delivery: error.delivery.id }, 'event handler failed'));

await (await createServer(hooks, { handleSignals: true })).listen({ port: Number(process.env.PORT ?? 3000) });
