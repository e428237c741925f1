/**
 * pending-hooks/deliveries: Stream's events from SQS and SNS, decoded into the same typed events
 * as the webhooks, for the same handlers (`events.dispatch(event)`).
 */
export { decodeSqsBody } from './sqs-body.js';
export { decodeSnsNotification, parseSnsMessage } from './sns-message.js';
export type { SnsMessage, SnsMessageType } from './sns-message.js';
export type { PayloadLimits } from './stream-payload.js';
export { DeliveryDecodeError } from './delivery-error.js';
export type { DeliveryErrorCode } from './delivery-error.js';
export { createSnsEndpoint } from './sns-endpoint.js';
export type { SnsEndpoint, SnsEndpointOptions } from './sns-endpoint.js';
export { awsSnsUrlPolicy } from './sns-certificates.js';
export type { SnsUrlPolicy } from './sns-certificates.js';
export { snsStringToSign, verifySnsSignature } from './sns-signature.js';
