import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import { sleep } from '../core/deadline.js';
import type { PendingMessageMethod } from '../event/pending-message-event.js';
import {
  callbackPath,
  decodeAnswerBody,
  defaultTwirpPrefix,
  encodeCallback,
  isCallbackMode,
  readPassOnAnswer,
  signCallbackBody,
  type CallbackAnswer,
  type CallbackMode,
} from './callback-encoding.js';

/**
 * Stream's side of a pending-message callback: POSTs `{url}/{method}` the way Stream does,
 * signed and retried by Stream's published rules (REFERENCE section 2):
 * - a response 408, 429 or >= 500 → up to 3 attempts;
 * - a network error → up to 2 attempts;
 * - a request timeout → up to 3 attempts;
 * - each request times out after 6 s, the whole call (all attempts) after 15 s.
 * The limit that applies is the one for the latest failure.
 */

export { signCallbackBody, type CallbackMode } from './callback-encoding.js';

/** Options of {@link sendCallback}. */
export interface SendCallbackOptions {
  /**
   * The hook's `webhook_url`. REST mode posts to `{url}/{method}`; Twirp modes to
   * `{url}{twirpPrefix}/pendingmessage.v1.PendingMessageService/{method}`.
   */
  url: string;
  /** Default `PassOnPendingMessage`. */
  method?: PendingMessageMethod;
  /** The callback body before encoding: the REST shape `{message, metadata, request_info}` in every mode. */
  payload?: unknown;
  /**
   * Default `rest`. `twirp-protobuf` / `twirp-json` encode the REST-shaped payload as a
   * `PendingMessageRequest` (see {@link encodeCallback}) unless `encode` is given.
   */
  mode?: CallbackMode;
  /**
   * Twirp route prefix below `url`, default `'/twirp'` (`''` for none): the request goes to `{url}{twirpPrefix}/pendingmessage.v1.PendingMessageService/{method}`.
   */
  twirpPrefix?: string;
  /**
   * Full request path, replacing the mode's path (`/{method}`, or the Twirp route).
   * Resolved against `url`'s origin.
   */
  path?: string;
  /** Encodes the payload into body bytes. Default: the mode's encoding ({@link encodeCallback}). */
  encode?: (payload: unknown) => Uint8Array | string;
  /** Default: the mode's (`application/json`, or `application/protobuf` for `twirp-protobuf`). */
  contentType?: string;
  /** The app's API secret: `X-Signature` is HMAC-SHA256 of the uncompressed body, lowercase hex. */
  secret: string;
  /** `X-Api-Key`. */
  apiKey: string;
  /** `X-Webhook-Id`, the same across retries. Default: a random UUID. */
  webhookId?: string;
  /** Gzip the body (`Content-Encoding: gzip`); the signature still covers the uncompressed bytes. */
  gzip?: boolean;
  /** Overrides the signature (tests of rejection); `false` omits the header. */
  signature?: string | false;
  /** Extra headers, sent on every attempt. */
  headers?: Record<string, string>;
  /** One request's timeout. Default 6000. */
  requestTimeoutMs?: number;
  /** Time for the whole call, retries included. Default 15000. */
  totalTimeoutMs?: number;
  /** Pause before attempt n+1 (n = the attempt that failed). Default 100 ms. */
  backoffMs?: number | ((failedAttempt: number) => number);
  /** Ends the call early; the result then carries `aborted: true`. */
  signal?: AbortSignal;
  /** undici dispatcher (e.g. an `Agent` with custom keep-alive). Default: undici's global one. */
  dispatcher?: Dispatcher;
}

/** One attempt of a callback. */
export interface CallbackAttempt {
  attempt: number;
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** What went wrong, when no answer arrived. */
  error?: string;
  /** `timeout` (the request took longer than allowed) or `network` (connection failed or reset). */
  errorKind?: 'timeout' | 'network' | 'aborted';
  ms: number;
}

/** The outcome of {@link sendCallback}. */
export interface CallbackResult {
  /** Status of the last answer; undefined when the last attempt got none. */
  status: number | undefined;
  /**
   * Body of the last answer: parsed when JSON, a protobuf answer decoded and shown as Twirp's
   * JSON (`{"action": "ACTION_COMMIT", …}`), else text (undefined without an answer).
   */
  body: unknown;
  /** A 2xx PassOnPendingMessage answer read into one shape whichever mode carried it. */
  answer: CallbackAnswer | undefined;
  /** The mode the call was sent in. */
  mode: CallbackMode;
  /** Headers of the last answer. */
  headers: Record<string, string | string[] | undefined>;
  attempts: CallbackAttempt[];
  totalMs: number;
  webhookId: string;
  /** Whether the last answer was 2xx. */
  ok: boolean;
  /** Whether `signal` ended the call. */
  aborted: boolean;
}

/** For core's `sleep` (the one sleep of src/) where nothing cancels the wait. */
export const neverAborted: AbortSignal = new AbortController().signal;

/** Stream's published limits. */
export const streamDeliveryRules = {
  requestTimeoutMs: 6000,
  totalTimeoutMs: 15_000,
  maxAttemptsOnStatus: 3,
  maxAttemptsOnNetworkError: 2,
  maxAttemptsOnTimeout: 3,
} as const;

/** Whether Stream retries a callback answered with `status`. */
export function isRetryableCallbackStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Sends one pending-message callback the way Stream does and reports every attempt.
 * Never throws for HTTP or network failures; throws only for invalid options.
 *
 * @example
 * const result = await sendCallback({ url: 'http://127.0.0.1:8080/hooks', apiKey, secret,
 *   payload: samplePayload(sampleMessage({}, 1)) });
 * // result.status === 200, result.body.action === 'commit'
 */
export async function sendCallback(options: SendCallbackOptions): Promise<CallbackResult> {
  const mode = options.mode ?? 'rest';
  const method = options.method ?? 'PassOnPendingMessage';
  if (!isCallbackMode(mode)) {
    throw new TypeError(`sendCallback: unknown mode ${String(mode)} (rest, twirp-protobuf or twirp-json)`);
  }
  const target = callbackUrl(options.url, method, options.path, mode, options.twirpPrefix ?? defaultTwirpPrefix);
  let encoded: Uint8Array | string;
  let defaultContentType = 'application/json';
  if (options.encode !== undefined) {
    encoded = options.encode(options.payload);
  } else {
    const built = encodeCallback(mode, options.payload);
    encoded = built.body;
    defaultContentType = built.contentType;
  }
  const raw = typeof encoded === 'string' ? Buffer.from(encoded, 'utf8') : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const body = options.gzip ? gzipSync(raw) : raw;
  const webhookId = options.webhookId ?? randomUUID();
  const signature = options.signature === undefined ? signCallbackBody(raw, options.secret) : options.signature;
  const baseHeaders: Record<string, string> = {
    'content-type': options.contentType ?? defaultContentType,
    'x-api-key': options.apiKey,
    'x-webhook-id': webhookId,
    'user-agent': 'pending-hooks-emulator',
    ...(signature === false ? {} : { 'x-signature': signature }),
    ...(options.gzip ? { 'content-encoding': 'gzip' } : {}),
    ...options.headers,
  };
  const requestTimeoutMs = options.requestTimeoutMs ?? streamDeliveryRules.requestTimeoutMs;
  const totalTimeoutMs = options.totalTimeoutMs ?? streamDeliveryRules.totalTimeoutMs;
  const backoff = options.backoffMs ?? 100;
  const started = performance.now();
  const deadline = started + totalTimeoutMs;
  const attempts: CallbackAttempt[] = [];
  let last: { status: number; body: unknown; headers: CallbackResult['headers'] } | undefined;
  let aborted = false;

  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    if (options.signal?.aborted) {
      aborted = true;
      break;
    }
    const outcome = await attemptOnce(target, body, { ...baseHeaders, 'x-webhook-attempt': String(attempt) }, {
      method,
      timeoutMs: Math.min(requestTimeoutMs, remaining),
      signal: options.signal,
      dispatcher: options.dispatcher,
    });
    attempts.push({ attempt, ...outcome.attempt });
    last = outcome.answer;
    if (outcome.attempt.errorKind === 'aborted') {
      aborted = true;
      break;
    }
    const maxAttempts =
      outcome.attempt.errorKind === 'network'
        ? streamDeliveryRules.maxAttemptsOnNetworkError
        : outcome.attempt.errorKind === 'timeout'
          ? streamDeliveryRules.maxAttemptsOnTimeout
          : outcome.attempt.status !== undefined && isRetryableCallbackStatus(outcome.attempt.status)
            ? streamDeliveryRules.maxAttemptsOnStatus
            : 0;
    if (attempt >= maxAttempts) break;
    const pause = typeof backoff === 'function' ? backoff(attempt) : backoff;
    // No retry that could not start before the call's deadline.
    if (performance.now() + pause >= deadline) break;
    if (pause > 0) await sleep(pause, options.signal ?? neverAborted);
  }

  const ok = last !== undefined && last.status >= 200 && last.status < 300;
  return {
    status: last?.status,
    body: last?.body,
    answer: ok && method === 'PassOnPendingMessage' ? readPassOnAnswer(last?.body) : undefined,
    mode,
    headers: last?.headers ?? {},
    attempts,
    totalMs: performance.now() - started,
    webhookId,
    ok,
    aborted,
  };
}

/**
 * Where a callback goes: `path` resolved against the url's origin when given; otherwise
 * `{url}/{method}` (REST) or `{url}{twirpPrefix}/pendingmessage.v1.PendingMessageService/{method}`
 * (Twirp modes; prefix default `/twirp`).
 */
export function callbackUrl(
  url: string,
  method: PendingMessageMethod,
  path?: string,
  mode: CallbackMode = 'rest',
  twirpPrefix?: string,
): URL {
  const base = new URL(url);
  if (path !== undefined) return new URL(path.startsWith('/') ? path : `/${path}`, base.origin);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}${callbackPath(mode, method, twirpPrefix)}`;
  return base;
}

interface AttemptOutcome {
  attempt: Omit<CallbackAttempt, 'attempt'>;
  answer: { status: number; body: unknown; headers: CallbackResult['headers'] } | undefined;
}

async function attemptOnce(
  target: URL,
  body: Buffer,
  headers: Record<string, string>,
  options: { method: PendingMessageMethod; timeoutMs: number; signal: AbortSignal | undefined; dispatcher: Dispatcher | undefined },
): Promise<AttemptOutcome> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`request timed out after ${Math.round(options.timeoutMs)} ms`)), options.timeoutMs);
  const signal = options.signal === undefined ? timeout.signal : AbortSignal.any([timeout.signal, options.signal]);
  const t0 = performance.now();
  try {
    const response = await request(target, {
      method: 'POST',
      headers,
      body,
      signal,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    });
    const bytes = new Uint8Array(await response.body.arrayBuffer());
    const ms = performance.now() - t0;
    const parsed = decodeAnswerBody(bytes, String(response.headers['content-type'] ?? ''), options.method);
    return {
      attempt: { status: response.statusCode, ms },
      answer: { status: response.statusCode, body: parsed, headers: response.headers },
    };
  } catch (error) {
    const ms = performance.now() - t0;
    if (options.signal?.aborted) return { attempt: { error: 'aborted', errorKind: 'aborted', ms }, answer: undefined };
    if (timeout.signal.aborted) {
      return { attempt: { error: String((timeout.signal.reason as Error).message), errorKind: 'timeout', ms }, answer: undefined };
    }
    return { attempt: { error: describeError(error), errorKind: 'network', ms }, answer: undefined };
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
