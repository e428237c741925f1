import { noMetrics, type HookMetrics } from '../observe/metrics.js';
import { abortedResult, callWithin, type ApplyResult, type ScopedStreamApi, type StreamApi } from '../stream-api/stream-api.js';
import { sleep } from '../core/deadline.js';
import { sleepWithin, type RequestScope } from '../core/request-scope.js';
import type { DecisionAction } from './decision.js';

export interface ApplyReport {
  /**
   * applied: the API took it; already_done: not pending any more (or gone); rejected: Stream
   * refused it for good (a 4xx other than 404/408/409/429), so retrying is pointless; failed: not
   * applied within the budget (transient failures), worth a retry by Stream.
   */
  readonly status: 'applied' | 'already_done' | 'nothing_to_do' | 'rejected' | 'failed';
  readonly attempts: number;
  readonly detail?: string;
}

export interface ApplyRetryOptions {
  /** First backoff between attempts; doubles each time. */
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
}

const noApiCall: ApplyReport = Object.freeze({ status: 'nothing_to_do', attempts: 0 });

/**
 * Applies a decision through Stream's API within the callback's scope (before its deadline,
 * unless the server shuts down first): commit or hard delete, retrying transient failures
 * (network, 5xx, 429) with backoff while the budget lasts. Every call and every wait between
 * them watches the same scope, so they stop at the same instant and no retry starts after it.
 */
export async function applyDecision(
  api: StreamApi,
  action: DecisionAction,
  messageId: string,
  scope: RequestScope,
  retry: ApplyRetryOptions,
  metrics: HookMetrics = noMetrics,
): Promise<ApplyReport> {
  if (action === 'keep_pending') return noApiCall;
  const scoped = (api as Partial<ScopedStreamApi>)[callWithin] !== undefined;
  let attempts = 0;
  let backoff = retry.baseBackoffMs;
  try {
    for (;;) {
      if (scope.aborted) return { status: 'failed', attempts, detail: (abortedResult(scope) as { detail: string }).detail };
      attempts++;
      // pending-hooks' own client watches the scope itself (no AbortController per decision);
      // any other StreamApi gets the scope's signal, made once for the request.
      const result = scoped
        ? await (api as ScopedStreamApi)[callWithin](action, messageId, scope)
        : action === 'commit'
          ? await api.commitMessage(messageId, scope.signal)
          : await api.hardDeleteMessage(messageId, scope.signal);
      if (metrics !== noMetrics) metrics.apiRequest(action, statusLabel(result));
      const report = settled(result, attempts);
      if (report) return report;
      const failure = result as Extract<ApplyResult, { status: 'failed' }>;
      const wait = Math.min(Math.max(backoff, failure.retryAfterMs ?? 0), retry.maxBackoffMs);
      // A retry that cannot finish before the deadline is not worth starting.
      if (!failure.retryable || scope.remainingMs() <= wait + 1) {
        return { status: 'failed', attempts, detail: failure.detail };
      }
      const pause = wait * (0.5 + Math.random() * 0.5);
      await (scoped ? sleepWithin(pause, scope) : sleep(pause, scope.signal));
      backoff *= 2;
    }
  } finally {
    // Nothing of this decision waits on the deadline any more.
    scope.disarm();
  }
}

/** The report for a call that ends the loop (applied, done, refused for good), else undefined. */
function settled(result: ApplyResult, attempts: number): ApplyReport | undefined {
  if (result.status === 'applied') return { status: 'applied', attempts };
  if (result.status === 'already_done') return { status: 'already_done', attempts, detail: result.detail };
  if (result.permanent) return { status: 'rejected', attempts, detail: result.detail };
  return undefined;
}

/** The metric label of one API call: its HTTP status where there was one (details start `HTTP nnn`). */
function statusLabel(result: ApplyResult): string {
  if (result.status === 'applied') return '2xx';
  if (result.detail.startsWith('HTTP ')) return result.detail.slice(5, 8);
  if (result.detail.startsWith('network')) return 'network';
  if (result.detail.startsWith('aborted')) return 'aborted';
  return 'error';
}
