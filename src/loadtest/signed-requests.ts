import { callbackPath, defaultTwirpPrefix, encodeCallback, signCallbackBody, type CallbackMode } from '../emulator/callback-encoding.js';
import { sampleMessage, samplePayload, type Seed } from '../emulator/sample-messages.js';
import type { DriverRequest } from './load-driver.js';

/**
 * The signed requests a load run sends: a pool of varied `PassOnPendingMessage` bodies,
 * encoded and signed once before the run (so signing costs nothing while measuring), sent
 * round-robin by the load driver, which gives each request its own `X-Webhook-Id` so the
 * server's dedupe never answers from memory; the id is a header, so the body's signature
 * stays valid.
 */

/** Options of {@link createSignedRequestPool}. */
export interface SignedRequestPoolOptions {
  /** The hook's `webhook_url`: REST posts to `{url}/PassOnPendingMessage`, Twirp to `{url}{twirpPrefix}/…`. */
  url: string;
  mode: CallbackMode;
  /** The app's API secret (`X-Signature` = hex HMAC-SHA256 over the exact body bytes). */
  secret: string;
  /** `X-Api-Key`; omitted when undefined (a server with one app accepts that). */
  apiKey?: string;
  /** Twirp prefix. Default `/twirp`; `''` allowed. */
  twirpPrefix?: string;
  /** Distinct requests in the pool. Default 2000. */
  size?: number;
  /** Share (0–1) of messages whose text contains `badWord`. Default 0. */
  badShare?: number;
  /** The blocklisted word put into "bad" messages. Default `badword` (see examples/moderation-handlers.ts). */
  badWord?: string;
  /** Seed of the generated messages; the same seed gives the same pool. Default `bench`. */
  seed?: Seed;
}

/** One pre-encoded, pre-signed callback body. */
export interface PooledRequest {
  readonly body: Buffer;
  /** Lowercase hex HMAC-SHA256 of `body`. */
  readonly signature: string;
  readonly messageId: string;
  /** Whether the text carries the blocklisted word. */
  readonly bad: boolean;
}

export interface SignedRequestPool {
  readonly mode: CallbackMode;
  /** `protocol//host:port` of the target. */
  readonly origin: string;
  /** Path (and query) every request is posted to. */
  readonly path: string;
  /** `origin + path`. */
  readonly target: string;
  readonly contentType: string;
  readonly entries: readonly PooledRequest[];
  /** The entries as the load driver sends them: body and headers (all but `X-Webhook-Id`). */
  readonly requests: readonly DriverRequest[];
}

export const defaultPoolSize = 2000;
export const defaultBadWord = 'badword';

/** Where a mode posts: `{url}/PassOnPendingMessage` (REST) or `{url}{prefix}/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`. */
export function benchTarget(url: string, mode: CallbackMode, twirpPrefix = defaultTwirpPrefix): { origin: string; path: string } {
  const parsed = parseTargetUrl(url);
  const base = parsed.pathname.replace(/\/+$/, '');
  return { origin: parsed.origin, path: `${base}${callbackPath(mode, 'PassOnPendingMessage', twirpPrefix)}${parsed.search}` };
}

/** An http(s) URL, or a RangeError saying what is wrong. */
export function parseTargetUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`invalid --url ${JSON.stringify(url)}: expected e.g. http://127.0.0.1:3000`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RangeError(`invalid --url ${JSON.stringify(url)}: only http:// and https:// are supported`);
  }
  return parsed;
}

/** Builds the pool: `size` varied messages, encoded for `mode` and signed with `secret`. */
export function createSignedRequestPool(options: SignedRequestPoolOptions): SignedRequestPool {
  const size = options.size ?? defaultPoolSize;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
  const badShare = options.badShare ?? 0;
  if (!(badShare >= 0 && badShare <= 1)) throw new RangeError(`bad share must be between 0 and 1, got ${badShare}`);
  if (typeof options.secret !== 'string' || options.secret === '') throw new RangeError('a secret is required to sign requests');
  const badWord = options.badWord ?? defaultBadWord;
  const seed = options.seed ?? 'bench';
  const { origin, path } = benchTarget(options.url, options.mode, options.twirpPrefix ?? defaultTwirpPrefix);
  let contentType = '';

  const entries: PooledRequest[] = [];
  for (let i = 0; i < size; i++) {
    // Spread the bad messages evenly: entry i is bad when floor((i+1)·share) steps up.
    const bad = Math.floor((i + 1) * badShare) > Math.floor(i * badShare);
    let message = sampleMessage({}, `${String(seed)}:${i}`);
    if (bad) {
      const text = `${message.text ?? ''} ${badWord}`.trim();
      message = { ...message, text, html: `<p>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</p>\n` };
    }
    const encoded = encodeCallback(options.mode, samplePayload(message));
    const body = encoded.body;
    contentType = encoded.contentType;
    entries.push({ body, signature: signCallbackBody(body, options.secret), messageId: message.id, bad });
  }

  const apiKey = options.apiKey === undefined || options.apiKey === '' ? undefined : options.apiKey;
  const requests = entries.map(
    (entry): DriverRequest => ({
      body: entry.body,
      headers: {
        'content-type': contentType,
        'x-signature': entry.signature,
        'x-webhook-attempt': '1',
        'user-agent': 'pending-hooks-bench',
        ...(apiKey === undefined ? {} : { 'x-api-key': apiKey }),
      },
    }),
  );
  return { mode: options.mode, origin, path, target: `${origin}${path}`, contentType, entries, requests };
}
