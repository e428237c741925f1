import { abortedResult, type StreamApi, type StreamApiAction } from './stream-api.js';

/** Options of {@link createDryRunApi}. */
export interface DryRunApiOptions {
  /** Called for each decision that would have been applied (the framework logs it). */
  onApply?: (action: StreamApiAction, messageId: string) => void;
}

/**
 * A {@link StreamApi} that applies nothing and answers `applied` at once: what the framework
 * uses when no Stream API is configured (local development, the emulator without an API,
 * benchmarks of the callback path alone). An already aborted signal still answers `aborted`,
 * like every other implementation.
 */
export function createDryRunApi(options: DryRunApiOptions = {}): StreamApi {
  const apply = (action: StreamApiAction, messageId: string, signal: AbortSignal) => {
    if (signal.aborted) return Promise.resolve(abortedResult(signal));
    options.onApply?.(action, messageId);
    return Promise.resolve({ status: 'applied' } as const);
  };
  return {
    commitMessage: (messageId, signal) => apply('commit', messageId, signal),
    hardDeleteMessage: (messageId, signal) => apply('delete', messageId, signal),
    close: () => Promise.resolve(),
  };
}
