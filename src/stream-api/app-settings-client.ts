import { Pool } from 'undici';
import { serverToken } from './server-token.js';
import { asStreamErrorBody, describeHttpError, parseStreamAnswer } from './stream-api.js';
import { defaultStreamBaseUrl, pendingHooksVersion } from './stream-api-client.js';

/** Options of {@link createAppSettingsClient}. */
export interface AppSettingsClientOptions {
  apiKey: string;
  secret: string;
  /** Stream's API origin, optionally with a path prefix. Default `https://chat.stream-io-api.com`. */
  baseUrl?: string;
  /** Each request's time limit when the caller gives no signal. Default 30 s. */
  timeoutMs?: number;
}

/** Reads and writes an app's `event_hooks`: `GET /app` and `PATCH /app`. */
export interface AppSettingsApi {
  /** The app's current hooks (`app.event_hooks` of `GET /app`; none when absent or null). */
  getEventHooks(signal?: AbortSignal): Promise<Record<string, unknown>[]>;
  /** `PATCH /app` with this body (`event_hooks`, optionally `explicit_event_hooks_deletion`). */
  updateAppSettings(body: Record<string, unknown>, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Stream answered with an error status, or could not be reached. */
export class AppSettingsRequestError extends Error {
  override readonly name = 'AppSettingsRequestError';
  constructor(
    message: string,
    /** The HTTP status; undefined when no answer came (network error, time limit). */
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/**
 * A small client of Stream's app settings endpoints, signed with the same cached server token as
 * decisions (`Authorization: <JWT>`, `Stream-Auth-Type: jwt`, `api_key` query parameter). Unlike
 * the decision client it throws {@link AppSettingsRequestError}: its callers are tools, not a
 * time-budgeted pipeline.
 *
 * @example
 * const api = createAppSettingsClient({ apiKey, secret });
 * try { console.log(await api.getEventHooks()); } finally { await api.close(); }
 */
export function createAppSettingsClient(options: AppSettingsClientOptions): AppSettingsApi {
  const { apiKey, secret } = options;
  if (apiKey === '' || secret === '') throw new TypeError('createAppSettingsClient: apiKey and secret are required');
  const base = new URL(options.baseUrl ?? defaultStreamBaseUrl);
  const path = `${base.pathname.replace(/\/+$/, '')}/app?api_key=${encodeURIComponent(apiKey)}`;
  const pool = new Pool(base.origin, { connections: 2 });
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function call(method: 'GET' | 'PATCH', endpoint: string, body: string | null, signal: AbortSignal | undefined): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: await serverToken(secret),
      'stream-auth-type': 'jwt',
      'x-stream-client': `pending-hooks-${pendingHooksVersion}`,
      accept: 'application/json',
    };
    if (body !== null) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await pool.request({ method, path, headers, body, signal: signal ?? AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new AppSettingsRequestError(`${endpoint} ${base.origin}: ${(error as Error).message || (error as Error).name}`, undefined);
    }
    const text = await response.body.text();
    const json = parseStreamAnswer(text);
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new AppSettingsRequestError(`${endpoint}: ${describeHttpError(response.statusCode, asStreamErrorBody(json))}`, response.statusCode);
    }
    return json;
  }

  return {
    async getEventHooks(signal) {
      const answer = (await call('GET', 'GET /app', null, signal)) as { app?: { event_hooks?: unknown } } | undefined;
      const hooks = answer?.app?.event_hooks;
      if (hooks === undefined || hooks === null) return [];
      if (!Array.isArray(hooks)) throw new AppSettingsRequestError('GET /app: app.event_hooks is not a list', 200);
      return hooks as Record<string, unknown>[];
    },
    async updateAppSettings(body, signal) {
      await call('PATCH', 'PATCH /app', JSON.stringify(body), signal);
    },
    close: () => pool.close(),
  };
}
