import type { Logger } from 'pino';
import type { Decision } from '../decision/decision.js';
import type { PendingMessageEvent } from '../event/pending-message-event.js';

/** What a handler gets besides the event: its deadline, as a signal and as numbers, and a logger. */
export interface HandlerContext {
  /**
   * Pass it to every call you make. Aborts at the handler's deadline (reason: `DeadlineExceededError`,
   * `code: 'deadline'`), or when the server shuts down past its drain's grace (`ShutdownError`,
   * `code: 'shutdown'`), whichever comes first; the decision's API call and its retries stop with
   * the same scope. Made on first read (no AbortController for handlers that never look).
   *
   * It does **not** abort when the client (Stream) closes the connection before the answer: the
   * decision is applied through Stream's API, not carried by the answer, so it is still made and
   * applied (a retry of the same webhook id joins it); aborting would leave the message pending
   * until Stream deletes it, and a fallback would act on it because a socket closed. The decision
   * log line says `clientGone: true`.
   */
  readonly signal: AbortSignal;
  /** Wall-clock deadline, ms since the epoch. */
  readonly deadline: number;
  /** Milliseconds left before the deadline (0 when past it). Safe to destructure. */
  readonly remainingMs: () => number;
  /** A pino child logger bound to the webhook id and message id. */
  readonly log: Logger;
}

/**
 * Decides a pending message. Return `decide.commit()`, `decide.delete(reason)` or
 * `decide.keepPending(reason)`. A result that arrives after the deadline is dropped; a throw
 * becomes the fallback decision with reason `handler_error`.
 */
export type PassOnHandler = (event: PendingMessageEvent, context: HandlerContext) => Decision | Promise<Decision>;

/** Told that a pending message was deleted (by its author, a moderator, or its timeout). */
export type DeletedHandler = (event: PendingMessageEvent, context: HandlerContext) => void | Promise<void>;

/** The callbacks a handler can be registered for, by Stream's method name. */
export interface PendingHandlers {
  PassOnPendingMessage: PassOnHandler;
  DeletedPendingMessage: DeletedHandler;
}

/**
 * One moderation step: return a decision to give an opinion, or `undefined` to let the message
 * pass to the next check. Used with `compose` / `composeParallel`.
 */
export type Check = (
  event: PendingMessageEvent,
  context: HandlerContext,
) => Decision | undefined | void | Promise<Decision | undefined | void>;
