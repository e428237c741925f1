/** Why a callback's work was cut short: its budget ran out, or the server is shutting down. */
export type RequestAbortCode = 'deadline' | 'shutdown';

/**
 * The reason every abort of a callback's work carries (`signal.reason`): `code` says which of
 * the callback's ends came (`deadline` or `shutdown`), whoever watched for it (the handler, the
 * API call, a retry's wait).
 */
export class RequestAbortedError extends Error {
  override readonly name: string = 'RequestAbortedError';
  constructor(
    readonly code: RequestAbortCode,
    message: string,
  ) {
    super(message);
  }
}

/** The reason a deadline aborts with (`code: 'deadline'`): handlers can tell a timeout from other aborts. */
export class DeadlineExceededError extends RequestAbortedError {
  override readonly name = 'DeadlineExceededError';
  constructor(readonly what: string) {
    super('deadline', `${what}: deadline exceeded`);
  }
}

/** The reason a shutdown aborts with (`code: 'shutdown'`): the drain's grace period is over. */
export class ShutdownError extends RequestAbortedError {
  override readonly name = 'ShutdownError';
  constructor(message = 'server is shutting down') {
    super('shutdown', message);
  }
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
