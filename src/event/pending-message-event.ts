import type { PendingMessage, RequestInfo } from './message-schema.js';

/** The two callbacks Stream makes for a pending message. */
export type PendingMessageMethod = 'PassOnPendingMessage' | 'DeletedPendingMessage';

/** Which wire the callback came over; the handler never needs it, logs and metrics do. */
export type TransportName = 'rest' | 'twirp-protobuf' | 'twirp-json' | 'connect';

/** What every transport decodes a callback body into. */
export interface DecodedPayload {
  message: PendingMessage;
  metadata: Record<string, string>;
  requestInfo: RequestInfo;
}

/**
 * The one typed event a handler sees, whichever transport carried the callback.
 * `message` is Stream's message object as sent (snake_case, custom fields kept).
 */
export interface PendingMessageEvent extends DecodedPayload {
  readonly method: PendingMessageMethod;
  /** `X-Webhook-Id`: unique per callback, the same across Stream's retries (may be absent). */
  readonly webhookId: string | undefined;
  /** `X-Webhook-Attempt`: 1 on the first delivery. */
  readonly attempt: number;
  /** The Stream app the callback belongs to. */
  readonly apiKey: string;
  readonly transport: TransportName;
  /** Wall-clock time the request arrived (ms since the epoch). */
  readonly receivedAt: number;
}
