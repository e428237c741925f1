import type { Dispatcher } from 'undici';
import { abortedResult, asStreamErrorBody, classifyStreamAnswer, networkErrorResult, parseStreamAnswer, type ApplyResult, type StreamApiAction } from './stream-api.js';

/** What a call watches for its abort: an AbortSignal, or anything shaped like one (ScopedCall). */
export interface CallSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Error bodies larger than this are cut (Stream's are a few hundred bytes) and their socket closed. */
const maxErrorBodyBytes = 64 * 1024;
/** A 2xx body is read and dropped up to this size (as undici's `body.dump()`); past it the socket is closed. */
const maxDrainedBytes = 128 * 1024;

/**
 * One Stream API call's undici handler (`pool.dispatch(options, handler)`), settling with its
 * {@link ApplyResult}; it never rejects.
 *
 * Why not `pool.request()`: per call that builds an AsyncResource, parses the response headers
 * into an object, makes a Readable for the body and a promise around a callback; a 2xx needs only
 * its status. Here a 2xx settles `applied` when its status line arrives and the body (the whole
 * message, of no use) is read and dropped, so the socket is reused; an error's body is kept (up
 * to {@link maxErrorBodyBytes}) to classify it, and `Retry-After` read from the raw headers.
 */
export class ApiCallHandler implements Dispatcher.DispatchHandler {
  private abortRequest: ((reason?: Error) => void) | undefined = undefined;
  private status = 0;
  private rawHeaders: Buffer[] | undefined = undefined;
  private chunks: Buffer[] | undefined = undefined;
  private size = 0;
  private settled = false;
  private readonly onAbort = (): void => {
    this.abortRequest?.(abortError(this.signal.reason));
  };

  constructor(
    private readonly action: StreamApiAction,
    private readonly signal: CallSignal,
    private readonly settle: (result: ApplyResult) => void,
    /** The result when the client was closed meanwhile (a failure then says so, not "network error"); else undefined. */
    private readonly closedResult: () => ApplyResult | undefined,
  ) {
    signal.addEventListener('abort', this.onAbort);
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.signal.aborted) abort(abortError(this.signal.reason));
    else this.abortRequest = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the answer is still to come
    this.status = statusCode;
    if (statusCode < 300) this.finish(applied);
    else {
      this.rawHeaders = rawHeaders;
      this.chunks = [];
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.byteLength;
    if (this.chunks === undefined) {
      if (this.size > maxDrainedBytes) this.abortRequest?.(new Error('response body too large'));
      return true;
    }
    this.chunks.push(chunk);
    if (this.size >= maxErrorBodyBytes) {
      // Classified on what came; that one socket is closed rather than read to its end.
      this.finish(this.classify());
      this.abortRequest?.(new Error('error body too large'));
    }
    return true;
  }

  onComplete(): void {
    this.finish(this.classify());
  }

  onError(error: Error): void {
    if (this.settled) return; // a body cut after the result, or the socket lost while draining
    this.finish(this.signal.aborted ? abortedResult(this.signal) : (this.closedResult() ?? networkErrorResult(error)));
  }

  private classify(): ApplyResult {
    if (this.status >= 200 && this.status < 300) return applied;
    const text = Buffer.concat(this.chunks ?? []).subarray(0, maxErrorBodyBytes).toString('utf8');
    return classifyStreamAnswer(this.action, this.status, asStreamErrorBody(parseStreamAnswer(text)), retryAfter(this.rawHeaders));
  }

  private finish(result: ApplyResult): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    this.settle(result);
  }

  private release(): void {
    this.signal.removeEventListener('abort', this.onAbort);
  }
}

const applied: ApplyResult = Object.freeze({ status: 'applied' });

function abortError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}

/** The `Retry-After` value among raw headers (`[name, value, name, value, …]`). */
function retryAfter(rawHeaders: Buffer[] | undefined): string | undefined {
  if (rawHeaders === undefined) return undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 11 && name.toString('latin1').toLowerCase() === 'retry-after') return rawHeaders[i + 1]!.toString('latin1');
  }
  return undefined;
}
