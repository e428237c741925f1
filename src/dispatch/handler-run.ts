import type { Logger } from 'pino';
import type { PendingMessageEvent } from '../event/pending-message-event.js';
import { DeadlineExceededError, type RequestAbortedError } from '../core/deadline.js';
import type { RequestScope, ScopeWatcher } from '../core/request-scope.js';
import type { HandlerContext } from './handler.js';

/** Why a run ended without the handler's own result. */
export type RunEnd = 'timeout' | 'shutdown';

/** What a run settles with when it ends early, and when the handler throws. Shared, not per run. */
export interface RunOutcomes<T> {
  ended(why: RunEnd): T;
  failed(error: unknown, event: PendingMessageEvent, what: string): T;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function fireDeadline(run: { expire(reason: unknown, why: RunEnd): void; what: string }): void {
  run.expire(new DeadlineExceededError(run.what), 'timeout');
}

/**
 * One handler invocation under its deadline, within the callback's {@link RequestScope}, and the
 * `HandlerContext` the handler sees. Never races without cancelling: at the handler's deadline,
 * or when the scope aborts first (shutdown), the run settles with the fallback and the handler's
 * signal aborts with that reason. Built for the hot path: a handler that answers synchronously
 * gets its result back synchronously (no promise, no timer, nothing linked to the scope); the
 * AbortController, the child logger and the `remainingMs` closure are created only if the handler
 * asks for them; no closure is allocated per run.
 */
export class HandlerRun<T> implements HandlerContext, ScopeWatcher {
  private settled = false;
  private value: T | undefined;
  private resolve: ((value: T) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private controller: AbortController | undefined;
  private endReason: unknown;
  private childLog: Logger | undefined;
  private remaining: (() => number) | undefined;
  private watching = false;

  constructor(
    /** `performance.now()` instant of the handler's deadline (at or before the scope's). */
    readonly deadlineAt: number,
    readonly what: string,
    private readonly event: PendingMessageEvent,
    private readonly logger: Logger,
    private readonly outcomes: RunOutcomes<T>,
    private readonly scope: RequestScope,
  ) {
    if (scope.aborted) this.scopeAborted(scope.reason!);
    else if (deadlineAt <= performance.now()) this.expire(new DeadlineExceededError(what), 'timeout');
  }

  /**
   * Arms the deadline timer and links the run to the scope, once; only handlers that go
   * asynchronous (or read their signal) need either.
   */
  private arm(): void {
    const delay = this.deadlineAt - performance.now();
    if (delay <= 0) {
      this.expire(new DeadlineExceededError(this.what), 'timeout');
      return;
    }
    this.timer = setTimeout(fireDeadline, delay, this);
    this.watching = true;
    this.scope.watch(this);
  }

  /** The scope aborted (shutdown, or its deadline when that comes first): the run ends with that reason. */
  scopeAborted(reason: RequestAbortedError): void {
    this.watching = false;
    this.expire(reason, reason.code === 'deadline' ? 'timeout' : 'shutdown');
  }

  /**
   * Calls the handler and settles with `convert(result)`, unless the deadline came first.
   * Synchronous handlers get their value back as is; asynchronous ones a promise.
   */
  invoke<R>(handler: (event: PendingMessageEvent, context: HandlerContext) => R | PromiseLike<R>, convert: (result: R) => T): T | Promise<T> {
    if (this.settled) return this.value as T;
    let result: R | PromiseLike<R>;
    try {
      result = handler(this.event, this);
    } catch (error) {
      this.settle(this.outcomes.failed(error, this.event, this.what));
      return this.value as T;
    }
    if (!isThenable(result)) {
      // Settled already when the handler read its signal after the deadline (the fallback stands).
      if (!this.settled) {
        // A synchronous handler cannot be interrupted, but its late result is dropped all the same.
        if (performance.now() > this.deadlineAt) this.expire(new DeadlineExceededError(this.what), 'timeout');
        else this.settle(this.converted(convert, result));
      }
      return this.value as T;
    }
    const pending = result instanceof Promise ? (result as Promise<R>) : Promise.resolve(result);
    if (this.settled) {
      // The deadline passed while the handler ran synchronously: the fallback is the answer.
      pending.then(
        () => this.logger.debug({ what: this.what }, 'late result dropped: the deadline had passed'),
        (error: unknown) => this.logger.debug({ what: this.what, err: error }, 'late rejection dropped: the deadline had passed'),
      );
      return this.value as T;
    }
    const promise = new Promise<T>((resolve) => (this.resolve = resolve));
    if (this.timer === undefined) this.arm();
    pending.then(
      (value) => {
        if (this.settled) this.logger.debug({ what: this.what }, 'late result dropped: the deadline had passed');
        else this.settle(this.converted(convert, value));
      },
      (error: unknown) => {
        // A handler that gives up when its signal fires rejects after the fallback was chosen.
        if (this.settled) this.logger.debug({ what: this.what, err: error }, 'late rejection dropped: the deadline had passed');
        else this.settle(this.outcomes.failed(error, this.event, this.what));
      },
    );
    return promise;
  }

  /** `convert(value)`, or the failure outcome when converting throws (a decision whose reason cannot be read). */
  private converted<R>(convert: (result: R) => T, value: R): T {
    try {
      return convert(value);
    } catch (error) {
      return this.outcomes.failed(error, this.event, this.what);
    }
  }

  /** True until the run settles (checked after `invoke` returned a promise). */
  get pending(): boolean {
    return !this.settled;
  }

  /** Ends the run now (deadline or shutdown): settles with the fallback and aborts the signal. */
  expire(reason: unknown, why: RunEnd): void {
    if (this.settled) return;
    this.endReason = reason;
    this.controller?.abort(reason);
    this.settle(this.outcomes.ended(why));
  }

  private settle(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.value = value;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.watching) {
      this.watching = false;
      this.scope.unwatch(this);
    }
    this.resolve?.(value);
  }

  // HandlerContext, created on demand.

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.endReason !== undefined) this.controller.abort(this.endReason);
      // Asked for while the handler still runs synchronously: the signal must fire on time.
      else if (!this.settled && this.timer === undefined) this.arm();
    }
    return this.controller.signal;
  }

  get deadline(): number {
    return Math.round(performance.timeOrigin + this.deadlineAt);
  }

  get remainingMs(): () => number {
    const at = this.deadlineAt;
    return (this.remaining ??= () => Math.max(0, at - performance.now()));
  }

  get log(): Logger {
    return (this.childLog ??= this.logger.child({ webhookId: this.event.webhookId, messageId: this.event.message.id }));
  }
}
