import type { Logger } from 'pino';
import { refusalClosesConnection, withConnectionClose } from '../core/connection-close.js';
import { HookError } from '../core/hook-error.js';
import { InFlight, type InFlightEntry } from '../core/in-flight.js';
import { clip, type RateLimitedLog } from '../core/log-safe.js';
import { headerValue, type NeutralHeaders, type NeutralRequest, type NeutralResponse } from '../core/neutral.js';
import { readVerifiedBody, type VerifyOptions } from '../signature/verified-body.js';
import type { DedupeRecord, DedupeStore } from '../decision/dedupe-store.js';
import type { HookMetrics } from '../observe/metrics.js';
import type { AppKeyring } from '../signature/app-keyring.js';
import { isJsonContentType } from '../transports/rest/content-type.js';
import { encodeRestError } from '../transports/rest/encode.js';
import type { EventDelivery } from './event-handler.js';
import { createEventPathMatcher, type EventPathMatch } from './event-path.js';
import type { EventDispatchResult, EventWebhooks } from './event-registry.js';
import { parseEvent } from './parse-event.js';
import { isKnownEventType } from './stream-events.js';

/**
 * When an event delivery is answered: `immediately` (default) — 200 once the event is verified,
 * parsed and not a retry already handled, its handlers running after the answer (Stream wants
 * an answer fast: it times out at 6 s); `after-handlers` — once the handlers settled, 200, or
 * 500 when one failed so Stream retries (up to 3 attempts). Failures go to `onError` either way.
 */
export type EventAck = 'immediately' | 'after-handlers';

/** Options of the event webhook routes (`createPendingHooks({ events })`). */
export interface EventRouteOptions {
  /**
   * Where events are served: `POST {path}` and the templated `POST {path}/{appId}/{eventType}`.
   * Default `{rest.mount}/events`; `''` serves `POST /` and `/{appId}/{eventType}` at the root.
   */
  path?: string;
  /** When the delivery is answered. Default `immediately`. */
  ack?: EventAck;
  /** Event deliveries handled at once (their handlers running, after the answer too); one more is answered 503 `overloaded`. Default 1000. */
  maxInFlight?: number;
}

export interface EventRouteDependencies {
  readonly registry: EventWebhooks;
  readonly keyring: AppKeyring;
  readonly verify: boolean;
  readonly bodyLimit: number;
  readonly maxJsonDepth: number;
  readonly dedupe: DedupeStore;
  readonly logger: Logger;
  readonly refusals: RateLimitedLog;
  readonly metrics: HookMetrics;
}

/** The event webhook routes, framework-neutral: the node listener and the fastify plugin drive them. */
export interface EventRoute {
  /** The plain path (`{path}`, or `/` for `''`): what adapters register. */
  readonly path: string;
  readonly ack: EventAck;
  /** The events path a request path is, while any event handler is registered. */
  match(path: string): EventPathMatch | undefined;
  /** Method, content type and encoding, and the in-flight bound, from the headers: an error answer, or undefined to read the body. */
  preflight(method: string, headers: NeutralHeaders): NeutralResponse | undefined;
  /** Size, signature, parse, path check, retry dedupe, handlers, answer. */
  process(match: EventPathMatch, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** An error met by an adapter (a too-large body, shutdown), answered and logged like the route's own. */
  fail(path: string, error: HookError): NeutralResponse;
}

const okAnswer: NeutralResponse = Object.freeze({ status: 200, headers: Object.freeze({ 'content-type': 'application/json; charset=utf-8' }) as Record<string, string>, body: '{"ok":true}' });
const handlerFailed = new HookError('internal', 'an event handler failed; retry the delivery');

/*
 * The dedupe stores remember pending-message decisions; an event delivery is remembered there as
 * a decision that changes nothing: applied (its handlers succeeded) or not (one failed, so
 * Stream's retry runs them again). Keys are apart from the callbacks' (`event:` prefix).
 */
const handledRecord: DedupeRecord = Object.freeze({ outcome: Object.freeze({ action: 'keep_pending', reason: 'event_handled', timedOut: false }), applied: true });
const failedRecord: DedupeRecord = Object.freeze({ outcome: Object.freeze({ action: 'keep_pending', reason: 'event_failed', timedOut: false }), applied: false });
/** How long another instance's claim on a delivery holds (Stream retries within 15 s). */
const claimLeaseMs = 10_000;

export function createEventRoute(options: EventRouteOptions & { path: string }, deps: EventRouteDependencies): EventRoute {
  const { registry, dedupe, refusals, metrics } = deps;
  const ack = options.ack ?? 'immediately';
  if (ack !== 'immediately' && ack !== 'after-handlers') throw new TypeError(`pending-hooks: events.ack must be immediately or after-handlers (got ${String(ack)})`);
  const maxInFlight = options.maxInFlight ?? 1000;
  if (!(maxInFlight > 0)) throw new RangeError(`pending-hooks: events.maxInFlight must be positive (got ${maxInFlight})`);
  const matchPath = createEventPathMatcher(options.path);
  const verifyOptions: VerifyOptions = { keyring: deps.keyring, bodyLimit: deps.bodyLimit, verify: deps.verify, malformedCode: 'malformed_json', sniffGzip: true };
  /** Deliveries being handled, by dedupe key: a retry arriving meanwhile waits for the first. Not a Map: see InFlight. */
  const handling = new InFlight<Promise<EventDispatchResult | undefined>>();
  let inFlight = 0;

  function refuse(error: HookError, context: Record<string, unknown>): NeutralResponse {
    refusals.write(error.code === 'internal' ? 'error' : 'warn', { ...context, code: error.code, why: error.detail ?? error.message }, 'event refused');
    metrics.refused(error.code);
    const response = encodeRestError(error);
    return refusalClosesConnection(error.code) ? withConnectionClose(response) : response;
  }

  function preflight(method: string, headers: NeutralHeaders): NeutralResponse | undefined {
    if (method !== 'POST') {
      const shown = clip(method);
      return refuse(new HookError('method_not_allowed', `${shown} is not allowed; Stream POSTs events`), { method: shown });
    }
    const contentType = headerValue(headers, 'content-type');
    if (!isJsonContentType(contentType)) {
      return refuse(new HookError('unsupported_media_type', `content type ${JSON.stringify(clip(contentType) ?? '')} is not served here (events are application/json)`), {});
    }
    const encoding = headerValue(headers, 'content-encoding');
    if (encoding !== undefined && encoding !== 'identity' && encoding.trim().toLowerCase() !== 'gzip') {
      return refuse(new HookError('unsupported_media_type', `content encoding ${JSON.stringify(clip(encoding))} is not supported (gzip is)`), {});
    }
    if (inFlight >= maxInFlight) return refuse(new HookError('overloaded', 'too many events in flight; retry'), { inFlight });
    return undefined;
  }

  function process(match: EventPathMatch, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse> {
    const verifying = readVerifiedBody(request, verifyOptions);
    const webhookId = headerValue(request.headers, 'x-webhook-id') || undefined;
    const answer = (verified: Awaited<typeof verifying>): NeutralResponse | Promise<NeutralResponse> => {
      const context = { path: clip(match.path), webhookId: clip(webhookId) };
      if (verified instanceof HookError) return refuse(verified, context);
      const event = parseEvent(verified.body, deps.maxJsonDepth);
      if (event instanceof HookError) return refuse(event, { ...context, apiKey: verified.app.apiKey });
      if (match.eventType !== undefined && match.eventType !== event.type) {
        return refuse(new HookError('invalid_payload', `the path names event type ${match.eventType} but the body's type is ${clip(event.type)}`), { ...context, apiKey: verified.app.apiKey });
      }
      const attempt = Number.parseInt(headerValue(request.headers, 'x-webhook-attempt') ?? '', 10);
      const delivery: Partial<EventDelivery> = {
        via: 'webhook',
        id: webhookId,
        attempt: attempt >= 1 ? attempt : 1,
        apiKey: verified.app.apiKey,
        appId: match.appId,
        receivedAt: Date.now() - (performance.now() - request.receivedAt),
      };
      return deliver(event, delivery, webhookId === undefined ? undefined : `event:${verified.app.apiKey}:${webhookId}`);
    };
    return verifying instanceof Promise ? verifying.then(answer) : answer(verifying);
  }

  async function deliver(event: Parameters<EventWebhooks['dispatch']>[0], delivery: Partial<EventDelivery>, key: string | undefined): Promise<NeutralResponse> {
    const duplicate = () => {
      deps.logger.info({ webhookId: delivery.id, eventType: event.type, apiKey: delivery.apiKey, attempt: delivery.attempt, outcome: 'duplicate' }, 'event');
      metrics.event(isKnownEventType(event.type) ? event.type : 'other', 'webhook', 'duplicate', 0);
      return okAnswer;
    };
    if (key !== undefined) {
      const first = handling.find(key);
      if (first !== undefined) {
        if (ack === 'immediately') return duplicate();
        const result = await first;
        return result === undefined || result.errors.length === 0 ? duplicate() : encodeRestError(handlerFailed);
      }
      if (dedupe.claim) {
        const claim = await dedupe.claim(key, { leaseMs: claimLeaseMs });
        if (claim.status !== 'claimed' || claim.record?.applied) return duplicate();
      } else {
        const known = dedupe.get(key);
        const record = known instanceof Promise ? await known : known;
        if (record?.applied) return duplicate();
      }
    }
    inFlight++;
    // Acknowledging first: handlers start after the answer is written, so even their synchronous
    // part cannot delay it.
    const started = ack === 'immediately' ? new Promise<void>((resolve) => setImmediate(resolve)) : Promise.resolve();
    const handled = started.then(() => registry.dispatch(event, delivery)).then(
      async (result) => {
        if (key !== undefined) await dedupe.set(key, result.errors.length === 0 ? handledRecord : failedRecord);
        return result;
      },
      (error: unknown) => {
        // Only a closed registry rejects: nothing ran, so nothing is remembered.
        deps.logger.error({ err: error, webhookId: delivery.id, eventType: event.type }, 'event not dispatched');
        return undefined;
      },
    );
    let entry: InFlightEntry<Promise<EventDispatchResult | undefined>, undefined> | undefined;
    const settled = handled.finally(() => {
      inFlight--;
      if (entry !== undefined) handling.remove(entry);
    });
    if (key !== undefined) entry = handling.add(key, settled, undefined);
    if (ack === 'immediately') {
      settled.catch((error: unknown) => deps.logger.error({ err: error, webhookId: delivery.id }, 'event delivery failed after its answer'));
      return okAnswer;
    }
    const result = await settled;
    if (result === undefined) return encodeRestError(new HookError('shutting_down', 'the server is shutting down; retry'));
    return result.errors.length === 0 ? okAnswer : encodeRestError(handlerFailed);
  }

  return {
    path: options.path === '' ? '/' : options.path,
    ack,
    match: (path) => (registry.size === 0 ? undefined : matchPath(path)),
    preflight,
    process,
    fail: (path, error) => refuse(error, { path: clip(path) }),
  };
}
