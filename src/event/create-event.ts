import { headerValue, type NeutralRequest } from '../core/neutral.js';
import type { DecodedPayload, PendingMessageEvent, PendingMessageMethod, TransportName } from './pending-message-event.js';

/** The one typed event, from a decoded payload and the request's Stream headers. */
export function createEvent(
  method: PendingMessageMethod,
  payload: DecodedPayload,
  apiKey: string,
  request: NeutralRequest,
  transport: TransportName,
): PendingMessageEvent {
  const attemptHeader = headerValue(request.headers, 'x-webhook-attempt');
  return {
    method,
    message: payload.message,
    metadata: payload.metadata,
    requestInfo: payload.requestInfo,
    webhookId: headerValue(request.headers, 'x-webhook-id') || undefined,
    attempt: attemptOf(attemptHeader),
    apiKey,
    transport,
    receivedAt: wallClockAt(request.receivedAt),
  };
}

// Epoch time minus performance.now(), read again at most once a second (the two clocks drift).
let wallOffset = Date.now() - performance.now();
let wallOffsetAt = performance.now();

/** The epoch time (ms) of a `performance.now()` instant, without reading both clocks per callback. */
function wallClockAt(instant: number): number {
  if (instant - wallOffsetAt > 1000 || instant < wallOffsetAt - 1000) {
    wallOffsetAt = performance.now();
    wallOffset = Date.now() - wallOffsetAt;
  }
  return instant + wallOffset;
}

/** `X-Webhook-Attempt` counts 1, 2, …; anything else (absent, garbage, zero or negative) is 1. */
function attemptOf(header: string | undefined): number {
  if (header === undefined) return 1;
  const attempt = Number.parseInt(header, 10);
  return attempt >= 1 ? attempt : 1;
}
