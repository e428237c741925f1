/** Why an SQS body or SNS message could not be turned into an event. */
export type DeliveryErrorCode =
  | 'invalid_base64'
  | 'invalid_gzip'
  | 'too_large'
  | 'malformed_json'
  | 'invalid_payload'
  | 'invalid_envelope'
  | 'invalid_signature'
  | 'certificate_not_allowed'
  | 'certificate_unavailable'
  | 'topic_not_allowed';

/**
 * A delivery that will never decode (retrying it gives the same answer): an SQS consumer deletes
 * it (or leaves it to the queue's dead-letter policy) rather than receiving it forever.
 */
export class DeliveryDecodeError extends Error {
  override readonly name = 'DeliveryDecodeError';
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
  ) {
    super(message);
  }
}
