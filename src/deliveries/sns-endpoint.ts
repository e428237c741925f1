import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { refusalClosesConnection, withConnectionClose } from '../core/connection-close.js';
import { HookError } from '../core/hook-error.js';
import { clip } from '../core/log-safe.js';
import type { NeutralRequest, NeutralResponse } from '../core/neutral.js';
import { createDefaultLogger } from '../observe/default-logger.js';
import type { EventWebhooks } from '../event-webhooks/event-registry.js';
import type { EventAck } from '../event-webhooks/event-route.js';
import { lingerOnClose, defaultLinger } from '../server/linger.js';
import { readBody } from '../server/read-body.js';
import { encodeRestError } from '../transports/rest/encode.js';
import { DeliveryDecodeError } from './delivery-error.js';
import { awsSnsUrlPolicy, createCertificateCache, type SnsUrlPolicy } from './sns-certificates.js';
import { decodeSnsNotification, parseSnsMessage, type SnsMessage } from './sns-message.js';
import { verifySnsSignature } from './sns-signature.js';

export interface SnsEndpointOptions {
  /** The handlers notifications are dispatched to (`hooks.events`, or `createEventWebhooks()`). */
  events: EventWebhooks;
  /**
   * The topics accepted (`arn:aws:sns:…`). Required: any AWS account can sign messages from a
   * topic of its own, so a valid signature alone says nothing about who sent it.
   */
  topicArns: readonly string[];
  /** Which `SigningCertURL` and `SubscribeURL` may be fetched. Default: `https://sns.<region>.amazonaws.com` only. */
  isAllowedUrl?: SnsUrlPolicy;
  /** Confirm `SubscriptionConfirmation` messages by GETting their `SubscribeURL`. Default true. */
  confirmSubscriptions?: boolean;
  /** `immediately` (default): 200 once verified, handlers after; `after-handlers`: 500 when a handler failed, so SNS retries. */
  ack?: EventAck;
  /** Largest message, in bytes (the envelope; the payload inside is bounded the same). Default 1 MiB. */
  bodyLimit?: number;
  maxJsonDepth?: number;
  /** For the certificate and confirmation requests. Default: global fetch. */
  fetch?: typeof globalThis.fetch;
  logger?: Logger;
}

/** An SNS HTTP(S) subscription endpoint: a neutral `handle` and a node:http `listener`. */
export interface SnsEndpoint {
  handle(request: Pick<NeutralRequest, 'method' | 'body'>): Promise<NeutralResponse>;
  /** `http.createServer(endpoint.listener)`, or mount it on a path of your server. */
  readonly listener: (request: IncomingMessage, response: ServerResponse) => void;
}

const okAnswer: NeutralResponse = Object.freeze({ status: 200, headers: Object.freeze({ 'content-type': 'application/json; charset=utf-8' }) as Record<string, string>, body: '{"ok":true}' });

/** Codes of `DeliveryDecodeError` refused as who sent it (401) rather than what was sent (400). */
const unauthenticated = new Set(['invalid_signature', 'certificate_not_allowed', 'topic_not_allowed']);

/**
 * The answer for a message that does not decode or verify. A certificate that could not be
 * fetched is a 500: SNS retries only answers outside 200–499, and the next try may get it.
 */
function toHookError(error: DeliveryDecodeError): HookError {
  if (unauthenticated.has(error.code)) return new HookError('invalid_signature', 'unauthenticated', error.message);
  if (error.code === 'certificate_unavailable') return new HookError('internal', 'signing certificate unavailable; retry', error.message);
  if (error.code === 'too_large') return new HookError('payload_too_large', error.message);
  return new HookError('invalid_payload', error.message);
}

/**
 * Serves an SNS HTTP(S) subscription: verifies each message's signature (SignatureVersion 1 and
 * 2; the certificate fetched only from allowed URLs, kept in a bounded cache) and its topic,
 * confirms subscriptions, and dispatches notifications' events to the handlers.
 */
export function createSnsEndpoint(options: SnsEndpointOptions): SnsEndpoint {
  if (!Array.isArray(options.topicArns) || options.topicArns.length === 0) throw new TypeError('pending-hooks: createSnsEndpoint needs topicArns, the topics it accepts');
  const topics = new Set(options.topicArns);
  const isAllowedUrl = options.isAllowedUrl ?? awsSnsUrlPolicy;
  const fetchUrl = options.fetch ?? globalThis.fetch;
  const logger = options.logger ?? createDefaultLogger(undefined).logger;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const ack = options.ack ?? 'immediately';
  const certificates = createCertificateCache({ isAllowed: isAllowedUrl, fetch: fetchUrl });

  function refuse(error: DeliveryDecodeError | HookError, context: Record<string, unknown>): NeutralResponse {
    const hookError = error instanceof HookError ? error : toHookError(error);
    logger.warn({ ...context, code: error instanceof DeliveryDecodeError ? error.code : error.code, why: hookError.detail ?? hookError.message }, 'sns message refused');
    const response = encodeRestError(hookError);
    return refusalClosesConnection(hookError.code) ? withConnectionClose(response) : response;
  }

  async function verified(message: SnsMessage): Promise<void> {
    if (!topics.has(message.TopicArn)) throw new DeliveryDecodeError('topic_not_allowed', `topic ${clip(message.TopicArn)} is not one of topicArns`);
    const key = await certificates.publicKey(message.SigningCertURL);
    if (!verifySnsSignature(message, key)) throw new DeliveryDecodeError('invalid_signature', `signature does not verify (SignatureVersion ${clip(message.SignatureVersion)})`);
  }

  async function confirm(message: SnsMessage): Promise<NeutralResponse> {
    const context = { messageId: clip(message.MessageId), topicArn: message.TopicArn };
    if (options.confirmSubscriptions === false) {
      logger.warn(context, 'sns subscription confirmation received; confirming is turned off');
      return okAnswer;
    }
    let url: URL;
    try {
      url = new URL(message.SubscribeURL!);
    } catch {
      return refuse(new DeliveryDecodeError('invalid_envelope', 'SubscribeURL is not a URL'), context);
    }
    if (!isAllowedUrl(url)) return refuse(new DeliveryDecodeError('certificate_not_allowed', `SubscribeURL host ${url.host} is not allowed`), context);
    try {
      const response = await fetchUrl(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`answered ${response.status}`);
    } catch (error) {
      logger.error({ ...context, err: error }, 'sns subscription could not be confirmed; SNS will send the confirmation again');
      return encodeRestError(new HookError('internal', 'subscription not confirmed; retry'));
    }
    logger.info(context, 'sns subscription confirmed');
    return okAnswer;
  }

  async function handle(request: Pick<NeutralRequest, 'method' | 'body'>): Promise<NeutralResponse> {
    if (request.method !== 'POST') return refuse(new HookError('method_not_allowed', `${clip(request.method)} is not allowed; SNS POSTs messages`), {});
    if (request.body.length > bodyLimit) return refuse(new HookError('payload_too_large', `body exceeds ${bodyLimit} bytes`), {});
    let message: SnsMessage;
    try {
      message = parseSnsMessage(request.body);
      await verified(message);
    } catch (error) {
      if (error instanceof DeliveryDecodeError) return refuse(error, {});
      throw error;
    }
    if (message.Type === 'SubscriptionConfirmation') return confirm(message);
    if (message.Type === 'UnsubscribeConfirmation') {
      logger.warn({ messageId: clip(message.MessageId), topicArn: message.TopicArn }, 'sns subscription ended (UnsubscribeConfirmation)');
      return okAnswer;
    }
    let event;
    try {
      event = await decodeSnsNotification(message, { maxBytes: bodyLimit, maxJsonDepth: options.maxJsonDepth });
    } catch (error) {
      if (error instanceof DeliveryDecodeError) return refuse(error, { messageId: clip(message.MessageId) });
      throw error;
    }
    const dispatched = options.events.dispatch(event, { via: 'sns', id: message.MessageId, receivedAt: Date.now() });
    if (ack === 'immediately') {
      dispatched.catch((error: unknown) => logger.error({ err: error, messageId: message.MessageId }, 'sns event not dispatched'));
      return okAnswer;
    }
    const result = await dispatched.catch(() => undefined);
    return result !== undefined && result.errors.length === 0 ? okAnswer : encodeRestError(new HookError('internal', 'an event handler failed; retry'));
  }

  return {
    handle,
    listener(request, response) {
      readBody(request, bodyLimit, (body) => {
        const answering = body instanceof HookError ? Promise.resolve(refuse(body, {})) : handle({ method: request.method ?? 'GET', body });
        answering
          .catch((error: unknown) => {
            logger.error({ err: error }, 'sns endpoint failed');
            return encodeRestError(new HookError('internal', 'internal error'));
          })
          .then((answer) => {
            if (answer.headers.connection === 'close') {
              response.shouldKeepAlive = false;
              lingerOnClose(request, defaultLinger);
            }
            response.writeHead(answer.status, answer.headers).end(answer.body);
          });
      });
    },
  };
}
