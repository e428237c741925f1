/**
 * How pending-hooks applies a decision: one call to Stream's server API per attempt. The caller
 * (the decision applier) owns the retry loop and the time budget; an implementation makes exactly
 * one attempt and reports what happened as a value, never by throwing.
 *
 * Implementations: `createStreamApiClient` (undici, the default), `fromStreamChat` (wraps an
 * official `stream-chat` server client), `createDryRunApi` (no API configured).
 */
import type { RequestScope } from '../core/request-scope.js';

/** The outcome of one attempt to apply a decision. */
export type ApplyResult =
  | { status: 'applied' }
  /** "Message is not pending" on commit, or 404 (the message is gone): the work is done, never retried. */
  | { status: 'already_done'; detail: string }
  /**
   * Network error, 5xx, 408, 409 and 429 are retryable. Other 4xx are `permanent`: Stream refused
   * this call for good, and no retry (ours or Stream's) could change that.
   */
  | { status: 'failed'; retryable: boolean; detail: string; retryAfterMs?: number; permanent?: true };

/** Stream's server API as far as pending-hooks needs it. */
export interface StreamApi {
  /**
   * Commits (publishes) a pending message: `POST /messages/{id}/commit`. One attempt, no retry
   * loop. An aborted `signal` returns promptly as a non-retryable failure whose detail starts
   * with `aborted:`.
   */
  commitMessage(messageId: string, signal: AbortSignal): Promise<ApplyResult>;
  /** Hard-deletes a message: `DELETE /messages/{id}?hard=true`. Same contract as commit. */
  hardDeleteMessage(messageId: string, signal: AbortSignal): Promise<ApplyResult>;
  /** Releases connections. Calls after `close()` fail without retry. */
  close(): Promise<void>;
}

/**
 * An optional, faster form of a call that pending-hooks' own client offers (keyed by this symbol,
 * so it is not part of the public `StreamApi` shape): the callback's {@link RequestScope} instead
 * of an AbortSignal. Creating an AbortController per decision and undici's listener on it cost
 * ~10 µs of the ~40 µs a commit call costs the server (see bench/RESULTS.md, 2026-12-06); the
 * call watches the scope (its deadline and the shutdown) for a fraction of that.
 */
export const callWithin: unique symbol = Symbol('pending-hooks.callWithin');

/** A `StreamApi` that also takes the request's scope instead of a signal (see {@link callWithin}). */
export interface ScopedStreamApi extends StreamApi {
  [callWithin](action: StreamApiAction, messageId: string, scope: RequestScope): Promise<ApplyResult>;
}

/** Which decision a call applies. */
export type StreamApiAction = 'commit' | 'delete';

/**
 * The JSON body of a Stream API error, e.g.
 * `{"code": 4, "message": "GetOrCreateChannel failed with error: \"…\"", "StatusCode": 400,
 * "duration": "0.00ms", "more_info": "https://getstream.io/chat/docs/api_errors_response"}`
 * (shape as reported in GetStream/stream-chat-flutter#574 and typed as `APIErrorResponse` in
 * stream-chat-js).
 */
export interface StreamErrorBody {
  code?: number;
  message?: string;
  StatusCode?: number;
  duration?: string;
  more_info?: string;
  [key: string]: unknown;
}

/**
 * Stream answers a commit of a message that is no longer pending with an error; its docs say only
 * that "subsequent commit attempts will return an error, as the message is no longer pending".
 * The exact text is not published, so we match the words case-insensitively.
 */
const notPendingPattern = /\bnot\s+(?:in\s+(?:a\s+)?)?pending\b|\bno\s+longer\s+pending\b|\bisn't\s+pending\b/i;

/** Whether a Stream error message says the message is not pending any more. */
export function saysNotPending(message: string | undefined): boolean {
  return message !== undefined && notPendingPattern.test(message);
}

/**
 * Parses an HTTP `Retry-After` value (delta-seconds or an HTTP date) into milliseconds from now.
 * Returns undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined | null, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === null) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Stream's answer text as JSON: undefined when empty, `{ message }` (its first 200 characters) when not JSON. */
export function parseStreamAnswer(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

/** Reads a Stream error body from parsed JSON, tolerating anything. */
export function asStreamErrorBody(value: unknown): StreamErrorBody | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as StreamErrorBody) : undefined;
}

/** One line describing an HTTP error answer, for logs. */
export function describeHttpError(status: number, body: StreamErrorBody | undefined): string {
  const code = typeof body?.code === 'number' ? ` (code ${body.code})` : '';
  const message = typeof body?.message === 'string' && body.message !== '' ? `: ${body.message}` : '';
  return `HTTP ${status}${code}${message}`;
}

/**
 * Classifies Stream's answer to one commit or hard delete. Shared by every `StreamApi`
 * implementation so the rules live in one place:
 * 2xx → applied; commit answered "not pending" → already_done; 404 (the message is gone) →
 * already_done; 408, 409, 429 (with `Retry-After`) and >= 500 → retryable; other 4xx → permanent.
 */
export function classifyStreamAnswer(
  action: StreamApiAction,
  status: number,
  body: StreamErrorBody | undefined,
  retryAfter?: string | string[] | null,
): ApplyResult {
  if (status >= 200 && status < 300) return { status: 'applied' };
  const detail = describeHttpError(status, body);
  if (action === 'commit' && status >= 400 && status < 500 && saysNotPending(body?.message)) {
    return { status: 'already_done', detail };
  }
  // A message that no longer exists (deleted by its author, or expired) is no longer pending
  // either: nothing is left to commit or delete, and Stream's retries could not change that.
  if (status === 404) return { status: 'already_done', detail };
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return retryAfterMs === undefined
      ? { status: 'failed', retryable: true, detail }
      : { status: 'failed', retryable: true, detail, retryAfterMs };
  }
  // 409: a conflicting change in progress at Stream; worth another attempt.
  if (status >= 500 || status === 408 || status === 409) return { status: 'failed', retryable: true, detail };
  if (status >= 400) return { status: 'failed', retryable: false, detail, permanent: true };
  return { status: 'failed', retryable: false, detail };
}

/** The result for a call cut short by its signal. */
export function abortedResult(signal: Pick<AbortSignal, 'reason'>): ApplyResult {
  return { status: 'failed', retryable: false, detail: `aborted: ${describeReason(signal.reason)}` };
}

/** The result for a network-level failure (no HTTP answer). */
export function networkErrorResult(error: unknown): ApplyResult {
  return { status: 'failed', retryable: true, detail: `network error: ${describeReason(error)}` };
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) {
    const code = (reason as { code?: unknown }).code;
    return typeof code === 'string' && !reason.message.includes(code) ? `${code} ${reason.message}` : reason.message || reason.name;
  }
  if (reason === undefined) return 'signal aborted';
  return String(reason);
}
