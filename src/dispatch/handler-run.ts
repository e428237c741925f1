import type { Logger } from 'pino';
import type { PendingMessageEvent } from '../event/pending-message-event.js';
import { DeadlineExceededError } from './deadline.js';
import type { HandlerContext } from './handler.js';

/** Why a run ended without the handler's own result. */
export type RunEnd = 'timeout' | 'shutdown';

function fireDeadline(run: { expire(reason: unknown, why: RunEnd): void; what: string }): void {
  run.expire(new DeadlineExceededError(run.what), 'timeout');
}

/**
 * One handler invocation under its deadline, and the `HandlerContext` the handler sees.
 * Never races without cancelling: at the deadline the run settles with the fallback and the
 * handler's signal aborts. Built for the hot path: the AbortController, the child logger and
 * the `remainingMs` closure are created only if the handler asks for them, a handler that answers
 * synchronously never arms a timer, and no closure is allocated for the timer.
 */
export class HandlerRun<T> implements HandlerContext {
  readonly promise: Promise<T>;
  private resolve!: (value: T) => void;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private controller: AbortController | undefined;
  private endReason: unknown;
  private childLog: Logger | undefined;
  private remaining: (() => number) | undefined;

  constructor(
    /** `performance.now()` instant of the deadline. */
    readonly deadlineAt: number,
    readonly what: string,
    private readonly event: PendingMessageEvent,
    private readonly logger: Logger,
    private readonly ended: (run: HandlerRun<T>, why: RunEnd) => T,
    private readonly failed: (error: unknown) => T,
    private readonly onSettle: (run: HandlerRun<T>) => void,
  ) {
    this.promise = new Promise<T>((resolve) => (this.resolve = resolve));
    if (deadlineAt <= performance.now()) this.expire(new DeadlineExceededError(what), 'timeout');
  }

  /** Arms the deadline timer; only handlers that go asynchronous need one. */
  private arm(): void {
    const delay = this.deadlineAt - performance.now();
    if (delay <= 0) this.expire(new DeadlineExceededError(this.what), 'timeout');
    else this.timer = setTimeout(fireDeadline, delay, this);
  }

  /** Calls the handler and settles with its result, unless the deadline came first. */
  invoke(handler: (event: PendingMessageEvent, context: HandlerContext) => T | Promise<T>): Promise<T> {
    if (this.settled) return this.promise;
    let result: T | Promise<T>;
    try {
      result = handler(this.event, this);
    } catch (error) {
      this.settle(this.failed(error));
      return this.promise;
    }
    if (result instanceof Promise) {
      this.arm();
      result.then(
        (value) => {
          if (this.settled) this.logger.debug({ what: this.what }, 'late result dropped: the deadline had passed');
          else this.settle(value);
        },
        (error: unknown) => {
          // A handler that gives up when its signal fires rejects after the fallback was chosen.
          if (this.settled) this.logger.debug({ what: this.what, err: error }, 'late rejection dropped: the deadline had passed');
          else this.settle(this.failed(error));
        },
      );
    } else this.settle(result);
    return this.promise;
  }

  /** Ends the run now (deadline or shutdown): settles with the fallback and aborts the signal. */
  expire(reason: unknown, why: RunEnd): void {
    if (this.settled) return;
    this.endReason = reason;
    this.controller?.abort(reason);
    this.settle(this.ended(this, why));
  }

  private settle(value: T): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.onSettle(this);
    this.resolve(value);
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
