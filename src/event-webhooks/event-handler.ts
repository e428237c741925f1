import type { Logger } from 'pino';
import type { StreamEvent } from './stream-events.js';

/** How an event reached the server. */
export type EventDeliveryChannel = 'webhook' | 'sqs' | 'sns' | 'direct';

/** Where an event came from, beside its payload. */
export interface EventDelivery {
  readonly via: EventDeliveryChannel;
  /** The delivery's id: `X-Webhook-Id` (the same across Stream's retries), or the SQS / SNS message id. */
  readonly id: string | undefined;
  /** `X-Webhook-Attempt` (1 on the first delivery; 1 for SQS and SNS). */
  readonly attempt: number;
  /** The Stream app (`X-Api-Key`), when the delivery names it. */
  readonly apiKey: string | undefined;
  /** The app id of a templated webhook URL (`…/{{.AppID}}/{{.EventType}}`). */
  readonly appId: string | undefined;
  /** Wall-clock time it arrived, ms since the epoch. */
  readonly receivedAt: number;
}

/** What an event handler gets besides the event. */
export interface EventContext {
  readonly delivery: EventDelivery;
  /** A pino child logger bound to the delivery id and event type. */
  readonly log: Logger;
  /** Aborts when the server is closing and its grace period is over. Pass it to calls you make. */
  readonly signal: AbortSignal;
}

/** Handles events; a throw or a rejection is reported to the `onError` handlers. */
export type EventHandler<E = StreamEvent> = (event: E, context: EventContext) => void | Promise<void>;

/** A handler's failure, as `onError` handlers get it. */
export class EventHandlerError extends Error {
  override readonly name = 'EventHandlerError';
  constructor(
    /** The pattern the failing handler was registered for. */
    readonly pattern: string,
    readonly event: StreamEvent,
    readonly delivery: EventDelivery,
    cause: unknown,
  ) {
    super(`the ${pattern} handler failed on a ${event.type} event: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Told of every handler failure. A throw here is logged (never lost). */
export type EventErrorHandler = (error: EventHandlerError) => void | Promise<void>;
