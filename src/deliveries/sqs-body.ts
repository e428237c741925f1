import type { StreamEvent } from '../event-webhooks/stream-events.js';
import { decodeStreamPayload, type PayloadLimits } from './stream-payload.js';

/**
 * Decodes the body of an SQS message Stream sent (base64 of the event's JSON, gzip-compressed
 * when large) into the event `dispatch` takes. Rejects with a `DeliveryDecodeError` for a body
 * that will never decode.
 */
export function decodeSqsBody(body: string, limits?: PayloadLimits): Promise<StreamEvent> {
  return decodeStreamPayload(body, limits);
}
