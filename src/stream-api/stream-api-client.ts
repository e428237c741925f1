import { createRequire } from 'node:module';
import { Pool } from 'undici';
import { ApiCallHandler, type CallSignal } from './api-call-handler.js';
import { serverToken } from './server-token.js';
import {
  abortedResult,
  callWithin,
  type ApplyResult,
  type ScopedStreamApi,
  type StreamApi,
  type StreamApiAction,
} from './stream-api.js';
import type { RequestAbortedError } from '../core/deadline.js';
import { requestDeadlineReached, type RequestScope, type ScopeWatcher } from '../core/request-scope.js';

/** Options of {@link createStreamApiClient}. */
export interface StreamApiClientOptions {
  apiKey: string;
  secret: string;
  /** Stream's API origin, optionally with a path prefix. Default `https://chat.stream-io-api.com`. */
  baseUrl?: string;
  /** Most sockets kept open to Stream. Default 32. */
  connections?: number;
  /** How long an idle keep-alive socket is kept. Default undici's (4 s). */
  keepAliveTimeoutMs?: number;
  /**
   * Time to wait for response headers (and between body chunks) when the caller's signal does not
   * end it first. Default 30 s. Calls pending-hooks makes for a callback have none: the callback's
   * deadline ends them.
   */
  headersTimeoutMs?: number;
  /** `X-Stream-Client` header. Default `pending-hooks-<version>`. */
  userAgent?: string;
}

/** The Stream API's public origin. */
export const defaultStreamBaseUrl = 'https://chat.stream-io-api.com';

/** Our `package.json` version, for `X-Stream-Client`; src/ and dist/ both sit one level below it. */
export const pendingHooksVersion: string = (() => {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { name?: unknown; version?: unknown };
    return pkg.name === 'pending-hooks' && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/**
 * Creates a {@link StreamApi} that calls Stream's REST API with undici: one keep-alive `Pool`
 * per client, each call dispatched with its own handler (api-call-handler.ts: lower overhead than
 * `pool.request()`, itself lower than `fetch`). Each call makes one attempt and classifies the
 * answer (see `classifyStreamAnswer`); it never throws.
 *
 * @example
 * const api = createStreamApiClient({ apiKey, secret });
 * const result = await api.commitMessage(messageId, AbortSignal.timeout(400));
 */
export function createStreamApiClient(options: StreamApiClientOptions): StreamApi & ScopedStreamApi {
  const { apiKey, secret } = options;
  if (apiKey === '' || secret === '') throw new TypeError('createStreamApiClient: apiKey and secret are required');
  const base = new URL(options.baseUrl ?? defaultStreamBaseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 32,
    pipelining: 1,
    headersTimeout: options.headersTimeoutMs ?? 30_000,
    bodyTimeout: options.headersTimeoutMs ?? 30_000,
    ...(options.keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeout: options.keepAliveTimeoutMs }),
  });
  const token = serverToken(secret);
  const userAgent = options.userAgent ?? `pending-hooks-${pendingHooksVersion}`;
  // Built once the token is signed, then shared by every call (undici copies them into each request):
  // no await (and microtask turn) and no header object per call.
  let commitHeaders: Record<string, string> | undefined;
  let deleteHeaders: Record<string, string> | undefined;
  const useToken = (signed: string) => {
    deleteHeaders = { authorization: signed, 'stream-auth-type': 'jwt', 'x-stream-client': userAgent, accept: 'application/json' };
    commitHeaders = { ...deleteHeaders, 'content-type': 'application/json' };
  };
  // A rejected token would otherwise be an unhandled rejection until the first call awaits it.
  token.then(useToken).catch(() => undefined);
  const apiKeyQuery = `api_key=${encodeURIComponent(apiKey)}`;
  let closed = false;
  const closedResult = () => (closed ? clientClosed : undefined);

  /**
   * One call. `signal` is what its handler watches: the caller's AbortSignal, or (from
   * {@link callWithin}) a {@link ScopedCall}. Not async: the usual path makes one promise.
   */
  function call(action: StreamApiAction, messageId: string, signal: CallSignal, bounded = false): Promise<ApplyResult> {
    if (signal.aborted) return Promise.resolve(abortedResult(signal));
    if (closed) return Promise.resolve(clientClosed);
    const id = messagePathSegment(messageId);
    if (id === undefined) return Promise.resolve(unsendableId);
    if (commitHeaders === undefined || deleteHeaders === undefined) return dispatchOnceSigned(action, id, signal, bounded);
    return dispatch(action, id, signal, bounded);
  }

  /** The first calls, made while the server token is still being signed. */
  async function dispatchOnceSigned(action: StreamApiAction, id: string, signal: CallSignal, bounded: boolean): Promise<ApplyResult> {
    try {
      useToken(await token);
    } catch (error) {
      return { status: 'failed', retryable: false, detail: `cannot sign the server token: ${String(error)}` };
    }
    if (signal.aborted) return abortedResult(signal);
    return dispatch(action, id, signal, bounded);
  }

  /**
   * `bounded`: a request scope's deadline ends the call (see ScopedCall), so undici's headers and
   * body timeouts are off for it (0). With them on, each call replaced its socket's keep-alive
   * timer by a new `FastTimer` (a different delay and kind), and a replaced one waits in undici's
   * list for its next 0.5 s tick: most of what the applied path still promoted (bench/RESULTS.md).
   */
  function dispatch(action: StreamApiAction, id: string, signal: CallSignal, bounded: boolean): Promise<ApplyResult> {
    const commit = action === 'commit';
    const path = commit ? `${prefix}/messages/${id}/commit?${apiKeyQuery}` : `${prefix}/messages/${id}?hard=true&${apiKeyQuery}`;
    const timeout = bounded ? 0 : undefined;
    return new Promise<ApplyResult>((settle) => {
      pool.dispatch(
        { method: commit ? 'POST' : 'DELETE', path, headers: commit ? commitHeaders! : deleteHeaders!, body: commit ? '{}' : null, headersTimeout: timeout, bodyTimeout: timeout },
        new ApiCallHandler(action, signal, settle, closedResult),
      );
    });
  }

  function callInScope(action: StreamApiAction, messageId: string, scope: RequestScope): Promise<ApplyResult> {
    // Arming aborts a scope whose deadline has passed (a callback taken over late): no call then.
    scope.arm();
    if (scope.aborted) return Promise.resolve(scope.reason === requestDeadlineReached ? deadlineResult : abortedResult(scope));
    return new Promise<ApplyResult>((resolve) => {
      // When the scope aborts the result is `aborted` at once (the answer goes out), and the
      // call's socket is torn down after (see ScopedCall); whichever settles first wins.
      const watched = new ScopedCall(scope, resolve);
      scope.watch(watched);
      call(action, messageId, watched, scope.deadlineAt !== Infinity).then((result) => {
        scope.unwatch(watched);
        resolve(result);
      });
    });
  }

  return {
    commitMessage: (messageId, signal) => call('commit', messageId, signal),
    hardDeleteMessage: (messageId, signal) => call('delete', messageId, signal),
    [callWithin]: callInScope,
    async close() {
      if (closed) return;
      closed = true;
      await pool.close();
    },
  };
}

const deadlineResult = abortedResult({ reason: requestDeadlineReached });
const unsendableId: ApplyResult = Object.freeze({
  status: 'failed',
  retryable: false,
  permanent: true,
  detail: 'the message id cannot be sent as a path segment (not valid Unicode)',
});
const clientClosed: ApplyResult = Object.freeze({ status: 'failed', retryable: false, detail: 'stream api client is closed' });
const teardownDelayMs = 100;

function tearDown(call: ScopedCall): void {
  call.tearDown();
}

/**
 * What a call made within a request's scope watches (its {@link CallSignal}): the stand-in for
 * an AbortSignal (`aborted`, `reason`, `addEventListener`), one small object per call.
 *
 * When the scope aborts it tells the caller first (the call's result is `aborted`, so the
 * callback's answer is written) and aborts the request 100 ms later: tearing down a socket costs
 * ~0.5 ms (and undici reconnects), and when a hung API makes a few hundred calls reach their
 * deadline together, answering after each teardown put the last answers ~150 ms past the budget,
 * after the check phase still ~45 ms.
 */
class ScopedCall implements ScopeWatcher, CallSignal {
  aborted = false;
  reason: unknown = undefined;
  private listener: (() => void) | undefined = undefined;
  constructor(
    private readonly scope: RequestScope,
    private readonly settle: (result: ApplyResult) => void,
  ) {}
  scopeAborted(reason: RequestAbortedError): void {
    this.settle(reason === requestDeadlineReached ? deadlineResult : abortedResult({ reason }));
    setTimeout(tearDown, teardownDelayMs, this);
  }
  tearDown(): void {
    this.aborted = true;
    this.reason = this.scope.reason;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }
  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener;
  }
  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener === listener) this.listener = undefined;
  }
}

/**
 * A message id as exactly one path segment: percent-encoded, with `.` and `..` encoded too (a
 * client or proxy would otherwise resolve them to another path). Undefined for a lone surrogate,
 * which has no UTF-8 encoding (callbacks with such ids are refused before any handler runs).
 */
export function messagePathSegment(messageId: string): string | undefined {
  if (messageId === '.' || messageId === '..') return messageId.replaceAll('.', '%2E');
  // Ids are usually UUIDs or other plain ASCII: returned as they are, without encodeURIComponent's
  // runtime call and new string (a UUID: ~240 ns → ~70 ns, once per API call).
  if (unreservedOnly(messageId)) return messageId;
  try {
    return encodeURIComponent(messageId);
  } catch {
    return undefined;
  }
}

/** The characters encodeURIComponent leaves as they are (1), by code unit below 0x80. */
const unreserved = new Uint8Array(128);
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!*'()") unreserved[char.charCodeAt(0)] = 1;

function unreservedOnly(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80 || unreserved[code] === 0) return false;
  }
  return true;
}
