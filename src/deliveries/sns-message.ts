import { isUtf8 } from 'node:buffer';
import type { StreamEvent } from '../event-webhooks/stream-events.js';
import { jsonTextNestsDeeperThan } from '../transports/json-depth.js';
import { DeliveryDecodeError } from './delivery-error.js';
import { decodeStreamPayload, type PayloadLimits } from './stream-payload.js';

/** The message types SNS posts to an HTTP(S) subscription. */
export type SnsMessageType = 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

/** An SNS message as posted to an HTTP(S) endpoint (the JSON envelope). */
export interface SnsMessage {
  readonly Type: SnsMessageType;
  readonly MessageId: string;
  readonly TopicArn: string;
  /** For a notification, Stream's payload (base64, maybe gzip); for a confirmation, AWS's text. */
  readonly Message: string;
  readonly Timestamp: string;
  readonly SignatureVersion: string;
  /** Base64 RSA signature over the string to sign (see `snsStringToSign`). */
  readonly Signature: string;
  readonly SigningCertURL: string;
  readonly Subject?: string;
  /** Confirmations: where a GET confirms the subscription. */
  readonly SubscribeURL?: string;
  readonly Token?: string;
  readonly UnsubscribeURL?: string;
}

const messageTypes: ReadonlySet<string> = new Set<SnsMessageType>(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']);
const required = ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'] as const;
const optional = ['Subject', 'SubscribeURL', 'Token', 'UnsubscribeURL'] as const;

/** Parses an SNS envelope (the body SNS posts), checking the fields signature checks and decoding rely on. */
export function parseSnsMessage(body: string | Uint8Array): SnsMessage {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (typeof body !== 'string' && !isUtf8(body)) throw new DeliveryDecodeError('invalid_envelope', 'SNS message is not UTF-8');
  // An envelope is one flat object: deeper nesting is not SNS.
  if (jsonTextNestsDeeperThan(text, bytes, 2)) throw new DeliveryDecodeError('invalid_envelope', 'SNS message nests deeper than an envelope');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DeliveryDecodeError('invalid_envelope', `SNS message is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new DeliveryDecodeError('invalid_envelope', 'SNS message must be a JSON object');
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.Type !== 'string' || !messageTypes.has(fields.Type)) throw new DeliveryDecodeError('invalid_envelope', 'SNS message Type must be Notification, SubscriptionConfirmation or UnsubscribeConfirmation');
  for (const name of required) {
    if (typeof fields[name] !== 'string') throw new DeliveryDecodeError('invalid_envelope', `SNS message needs a string ${name}`);
  }
  for (const name of optional) {
    if (fields[name] !== undefined && typeof fields[name] !== 'string') throw new DeliveryDecodeError('invalid_envelope', `SNS message ${name} must be a string`);
  }
  if (fields.Type !== 'Notification' && (typeof fields.SubscribeURL !== 'string' || typeof fields.Token !== 'string')) {
    throw new DeliveryDecodeError('invalid_envelope', `an SNS ${fields.Type} needs SubscribeURL and Token`);
  }
  return fields as unknown as SnsMessage;
}

/**
 * The event in an SNS notification (its `Message` holds Stream's payload, as an SQS body does).
 * Takes the envelope as posted, or one already parsed (and verified: see `createSnsEndpoint`).
 * Also for SNS notifications fanned out to an SQS queue without raw delivery: the SQS body is then
 * the envelope.
 */
export async function decodeSnsNotification(message: SnsMessage | string | Uint8Array, limits?: PayloadLimits): Promise<StreamEvent> {
  const envelope = typeof message === 'string' || message instanceof Uint8Array ? parseSnsMessage(message) : message;
  if (envelope.Type !== 'Notification') throw new DeliveryDecodeError('invalid_envelope', `an SNS ${envelope.Type} carries no event`);
  return decodeStreamPayload(envelope.Message, limits);
}
