/** The reason a deadline signal aborts with: handlers can tell a timeout from other aborts. */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
  constructor(readonly what: string) {
    super(`${what}: deadline exceeded`);
  }
}

/**
 * An AbortSignal that fires at a `performance.now()` instant; `cancel()` always clears the timer.
 * Used around API calls; handler runs have their own lazier version (`dispatch/handler-run.ts`).
 */
export interface Deadline {
  readonly signal: AbortSignal;
  remainingMs(): number;
  cancel(): void;
}

export function createDeadline(at: number, what: string): Deadline {
  const controller = new AbortController();
  const delay = at - performance.now();
  let timer: NodeJS.Timeout | undefined;
  if (delay <= 0) controller.abort(new DeadlineExceededError(what));
  else timer = setTimeout(() => controller.abort(new DeadlineExceededError(what)), delay);
  return {
    signal: controller.signal,
    remainingMs: () => Math.max(0, at - performance.now()),
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Resolves after `ms`, or early (without rejecting) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
