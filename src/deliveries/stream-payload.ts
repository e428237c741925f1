import { HookError } from '../core/hook-error.js';
import { inflateBody } from '../core/inflate-body.js';
import { parseEvent } from '../event-webhooks/parse-event.js';
import type { StreamEvent } from '../event-webhooks/stream-events.js';
import { DeliveryDecodeError } from './delivery-error.js';
import { decodeStrictBase64 } from './strict-base64.js';

/** Bounds on a decoded payload: bytes (raw and inflated) and JSON nesting. */
export interface PayloadLimits {
  /** Largest payload, in bytes, after base64 and again after gunzip (inclusive). Default 1 MiB. */
  maxBytes?: number;
  /** Deepest JSON nesting (the outermost value is depth 1). Default 64. */
  maxJsonDepth?: number;
}

const defaultMaxBytes = 1024 * 1024;

/**
 * Stream's SQS and SNS payload: base64, then gzip when the bytes start with its magic (1f 8b),
 * then the event's JSON. Every stage is bounded and linear; a failure is a
 * `DeliveryDecodeError` saying which stage refused.
 */
export async function decodeStreamPayload(base64: string, limits: PayloadLimits = {}): Promise<StreamEvent> {
  const maxBytes = limits.maxBytes ?? defaultMaxBytes;
  if (base64.length > Math.ceil(maxBytes / 3) * 4) throw new DeliveryDecodeError('too_large', `payload exceeds ${maxBytes} bytes`);
  const raw = decodeStrictBase64(base64);
  if (typeof raw === 'string') throw new DeliveryDecodeError('invalid_base64', `payload is not canonical base64: ${raw}`);
  const inflated = await inflateBody(raw, false, maxBytes, 'invalid_payload');
  if (inflated instanceof HookError) {
    throw inflated.code === 'payload_too_large'
      ? new DeliveryDecodeError('too_large', `inflated payload exceeds ${maxBytes} bytes`)
      : new DeliveryDecodeError('invalid_gzip', `payload is not valid gzip: ${inflated.detail ?? inflated.message}`);
  }
  const event = parseEvent(inflated, limits.maxJsonDepth ?? 64);
  if (event instanceof HookError) throw new DeliveryDecodeError(event.code === 'malformed_json' ? 'malformed_json' : 'invalid_payload', event.message);
  return event;
}
