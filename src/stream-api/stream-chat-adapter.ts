import {
  abortedResult,
  asStreamErrorBody,
  classifyStreamAnswer,
  networkErrorResult,
  type ApplyResult,
  type StreamApi,
  type StreamApiAction,
} from './stream-api.js';

/**
 * The two methods of an official `stream-chat` server client (`new StreamChat(key, secret)`)
 * that pending-hooks uses. Typed structurally so `stream-chat` stays an optional dependency:
 * a `StreamChat` instance is assignable to it as is.
 */
export interface StreamChatLike {
  commitMessage(messageId: string): Promise<unknown>;
  deleteMessage(messageId: string, hardDelete: boolean): Promise<unknown>;
}

/** Options of {@link fromStreamChat}. */
export interface FromStreamChatOptions {
  /** Called by `close()`, e.g. to disconnect a client the adapter owns. Default: nothing. */
  onClose?: () => Promise<void> | void;
}

/**
 * What `stream-chat` throws: an `ErrorFromResponse` with `status`, `code` and the axios
 * `response` for HTTP errors; an axios error without `response` for network failures.
 */
interface StreamChatError {
  status?: unknown;
  code?: unknown;
  response?: { status?: unknown; data?: unknown; headers?: unknown };
}

/**
 * Adapts an official `stream-chat` server client to {@link StreamApi}, with the same
 * classification as `createStreamApiClient`.
 *
 * `stream-chat` offers no per-call AbortSignal, so an aborted signal makes the call return at once
 * (`aborted: …`) while the HTTP request it started finishes in the background, its result ignored.
 * Prefer `createStreamApiClient` where cancellation matters.
 */
export function fromStreamChat(client: StreamChatLike, options: FromStreamChatOptions = {}): StreamApi {
  let closed = false;

  async function call(action: StreamApiAction, messageId: string, signal: AbortSignal): Promise<ApplyResult> {
    if (signal.aborted) return abortedResult(signal);
    if (closed) return { status: 'failed', retryable: false, detail: 'stream api adapter is closed' };
    let operation: Promise<ApplyResult>;
    try {
      const started = action === 'commit' ? client.commitMessage(messageId) : client.deleteMessage(messageId, true);
      operation = started.then(
        (): ApplyResult => ({ status: 'applied' }),
        (error: unknown) => classifyStreamChatError(action, error),
      );
    } catch (error) {
      // A synchronous throw (a client in a bad state) is a failure of this call, not a crash.
      return { status: 'failed', retryable: false, detail: `stream-chat threw: ${String(error)}` };
    }
    return raceAbort(operation, signal);
  }

  return {
    commitMessage: (messageId, signal) => call('commit', messageId, signal),
    hardDeleteMessage: (messageId, signal) => call('delete', messageId, signal),
    async close() {
      if (closed) return;
      closed = true;
      await options.onClose?.();
    },
  };
}

/** Maps an error thrown by `stream-chat` to an {@link ApplyResult}. */
export function classifyStreamChatError(action: StreamApiAction, error: unknown): ApplyResult {
  const e = (error ?? {}) as StreamChatError;
  const response = e.response;
  const status =
    typeof e.status === 'number' ? e.status : typeof response?.status === 'number' ? response.status : undefined;
  if (status === undefined || status === 0) return networkErrorResult(error);
  const body = asStreamErrorBody(response?.data);
  const headers = (response?.headers ?? {}) as Record<string, unknown> & { get?: (name: string) => unknown };
  const retryAfter = typeof headers.get === 'function' ? headers.get('retry-after') : headers['retry-after'];
  const result = classifyStreamAnswer(
    action,
    status,
    body ?? { message: error instanceof Error ? error.message : String(error) },
    typeof retryAfter === 'string' ? retryAfter : undefined,
  );
  return result;
}

function raceAbort(operation: Promise<ApplyResult>, signal: AbortSignal): Promise<ApplyResult> {
  return new Promise<ApplyResult>((resolve) => {
    const onAbort = () => resolve(abortedResult(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    operation.then((result) => {
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    });
  });
}
