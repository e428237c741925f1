import { DeadlineExceededError, type RequestAbortedError } from './deadline.js';
import { DeadlineQueue, type DeadlineEntry } from './deadline-queue.js';

/** Told once when the scope it watches aborts. An object, not a closure: watchers are made per call. */
export interface ScopeWatcher {
  scopeAborted(reason: RequestAbortedError): void;
}

/**
 * The reason of every request deadline, made once: undici destroys a call's socket with it and
 * node reads its `stack` then — formatted again for every call were it new each time, all at the
 * moment a hung API makes hundreds of calls end together.
 */
export const requestDeadlineReached = new DeadlineExceededError('the callback budget');
void requestDeadlineReached.stack;

function fireDeadline(scope: RequestScope): void {
  scope.abort(requestDeadlineReached);
}

/** The deadlines of every armed scope in the process, on one timer. */
const deadlines = new DeadlineQueue();

/**
 * The one cancellation scope of a callback: its deadline (the instant by which the decision must
 * be applied) and the server's shutdown, linked once. The handler's run, the decision's API call
 * and the waits between its retries all watch the same scope, so they stop together, for the same
 * reason (`reason.code`: `deadline` or `shutdown`).
 *
 * Built for the hot path (measured: an AbortController and its links cost ~11 µs of a ~40 µs
 * callback): one small object per request; no timer until a call waits on it (`arm`); watchers
 * in a plain array; a real `AbortSignal` only when someone reads `signal`.
 *
 * A client that closes its connection before the answer does not abort the scope (see
 * `clientGone`): Stream's decision is applied through the API, not carried by the answer.
 */
export class RequestScope implements DeadlineEntry {
  aborted = false;
  reason: RequestAbortedError | undefined = undefined;
  /**
   * Set by the server adapter when the client closed the connection before the answer was
   * written. Nothing is aborted for it: the decision is still made and applied (a retry of the
   * same webhook id joins it), and the decision line says `clientGone`.
   */
  clientGone = false;
  private watchers: ScopeWatcher[] | undefined = undefined;
  /** Where the deadline waits: a slot of the shared queue, or (out of order) a timer of its own. */
  private slot = -1;
  private timer: NodeJS.Timeout | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  constructor(
    /** `performance.now()` instant of the deadline (Infinity: none yet; set before anything arms). */
    public deadlineAt = Infinity,
  ) {}

  /** Milliseconds left before the deadline (0 when past it or aborted). */
  remainingMs(): number {
    return this.aborted ? 0 : Math.max(0, this.deadlineAt - performance.now());
  }

  /**
   * Starts waiting for the deadline, once: only work that waits (an API call, a retry's backoff)
   * needs it. The wait is a slot in the process's shared deadline queue (one timer for all),
   * or a timer of its own for a deadline out of the queue's order.
   */
  arm(): void {
    if (this.aborted || this.slot !== -1 || this.timer !== undefined || this.deadlineAt === Infinity) return;
    const delay = this.deadlineAt - performance.now();
    if (delay <= 0) {
      this.abort(requestDeadlineReached);
      return;
    }
    this.slot = deadlines.add(this, this.deadlineAt);
    if (this.slot === -1) this.timer = setTimeout(fireDeadline, delay, this);
  }

  /** Stops waiting for the deadline when nothing waits any more (the decision applied); `arm` starts again. */
  disarm(): void {
    if (this.slot !== -1) {
      deadlines.remove(this.slot, this);
      this.slot = -1;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The shared queue's call: the deadline came. */
  deadlineReached(): void {
    this.slot = -1;
    this.abort(requestDeadlineReached);
  }

  /** Aborts everything that watches the scope, once, with this reason. */
  abort(reason: RequestAbortedError): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.disarm();
    const watchers = this.watchers;
    this.watchers = undefined;
    if (watchers !== undefined) for (const watcher of watchers) watcher.scopeAborted(reason);
    this.controller?.abort(reason);
  }

  /** Adds a watcher, told once at the abort; the caller removes it (`unwatch`) when its work ends first. */
  watch(watcher: ScopeWatcher): void {
    if (this.aborted) watcher.scopeAborted(this.reason!);
    else (this.watchers ??= []).push(watcher);
  }

  unwatch(watcher: ScopeWatcher): void {
    const watchers = this.watchers;
    if (watchers === undefined) return;
    const index = watchers.lastIndexOf(watcher);
    if (index !== -1) watchers.splice(index, 1);
  }

  /** How many watchers are attached (0 once a request's work is over). */
  get watcherCount(): number {
    return this.watchers?.length ?? 0;
  }

  /**
   * A real AbortSignal for the scope, made on first read (and the deadline armed): for APIs that
   * take only an AbortSignal. It aborts with the scope's reason.
   */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
      else this.arm();
    }
    return this.controller.signal;
  }
}

/** A wait between retries that ends early when the scope aborts. */
class ScopedWait implements ScopeWatcher {
  timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly scope: RequestScope,
    private readonly resolve: () => void,
  ) {}
  scopeAborted(): void {
    clearTimeout(this.timer);
    this.resolve();
  }
  elapsed(): void {
    this.scope.unwatch(this);
    this.resolve();
  }
}

function waitElapsed(wait: ScopedWait): void {
  wait.elapsed();
}

/** Resolves after `ms`, or as soon as the scope aborts (never rejects). */
export function sleepWithin(ms: number, scope: RequestScope): Promise<void> {
  if (scope.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const wait = new ScopedWait(scope, resolve);
    scope.watch(wait);
    wait.timer = setTimeout(waitElapsed, ms, wait);
  });
}
