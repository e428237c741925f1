import { noMetrics, type HookMetrics } from '../observe/metrics.js';
import { callBefore, type ApplyResult, type DeadlineStreamApi, type StreamApi } from '../stream-api/stream-api.js';
import { createDeadline, sleep } from '../core/deadline.js';
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
 * Applies a decision through Stream's API before `deadlineAt` (`performance.now()` time):
 * commit or hard delete, retrying transient failures (network, 5xx, 429) with backoff while the
 * budget lasts. Every call gets the deadline's signal, so nothing outlives the budget.
 */
export async function applyDecision(
  api: StreamApi,
  action: DecisionAction,
  messageId: string,
  deadlineAt: number,
  retry: ApplyRetryOptions,
  metrics: HookMetrics = noMetrics,
): Promise<ApplyReport> {
  if (action === 'keep_pending') return noApiCall;
  // pending-hooks' own client takes the deadline itself (no AbortController per decision).
  if ((api as Partial<DeadlineStreamApi>)[callBefore]) return applyBefore(api as DeadlineStreamApi, action, messageId, deadlineAt, retry, metrics);
  const deadline = createDeadline(deadlineAt, 'applying the decision');
  let attempts = 0;
  let backoff = retry.baseBackoffMs;
  try {
    for (;;) {
      attempts++;
      const result =
        action === 'commit'
          ? await api.commitMessage(messageId, deadline.signal)
          : await api.hardDeleteMessage(messageId, deadline.signal);
      if (metrics !== noMetrics) metrics.apiRequest(action === 'commit' ? 'commit' : 'delete', statusLabel(result));
      const report = settled(result, attempts);
      if (report) return report;
      const failure = result as Extract<ApplyResult, { status: 'failed' }>;
      const wait = Math.min(Math.max(backoff, failure.retryAfterMs ?? 0), retry.maxBackoffMs);
      // A retry that cannot finish before the deadline is not worth starting.
      if (!failure.retryable || deadline.remainingMs() <= wait + 1) {
        return { status: 'failed', attempts, detail: failure.detail };
      }
      await sleep(wait * (0.5 + Math.random() * 0.5), deadline.signal);
      backoff *= 2;
    }
  } finally {
    deadline.cancel();
  }
}

/** The same loop for a client that takes the deadline as an instant: each call bounds itself. */
async function applyBefore(
  api: DeadlineStreamApi,
  action: 'commit' | 'delete',
  messageId: string,
  deadlineAt: number,
  retry: ApplyRetryOptions,
  metrics: HookMetrics,
): Promise<ApplyReport> {
  let attempts = 0;
  let backoff = retry.baseBackoffMs;
  for (;;) {
    attempts++;
    const result = await api[callBefore](action, messageId, deadlineAt);
    if (metrics !== noMetrics) metrics.apiRequest(action, statusLabel(result));
    const report = settled(result, attempts);
    if (report) return report;
    const failure = result as Extract<ApplyResult, { status: 'failed' }>;
    const wait = Math.min(Math.max(backoff, failure.retryAfterMs ?? 0), retry.maxBackoffMs);
    if (!failure.retryable || deadlineAt - performance.now() <= wait + 1) {
      return { status: 'failed', attempts, detail: failure.detail };
    }
    // The wait ends before the deadline (checked above): a plain timer.
    await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random() * 0.5)));
    backoff *= 2;
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
