import { HookError } from '../core/hook-error.js';
import { prepareSecret, type PreparedSecret } from './sign.js';

/** A Stream app this server answers for. */
export interface AppCredentials {
  /** The app's API key (sent by Stream as `X-Api-Key`). */
  apiKey: string;
  /**
   * The app's API secrets, current first. Signatures made with any of them are accepted, so a
   * secret can be rotated without dropping callbacks; the first one signs API calls.
   */
  secrets: readonly string[];
}

export interface ResolvedApp {
  readonly apiKey: string;
  readonly secrets: readonly string[];
  readonly keys: readonly PreparedSecret[];
}

/**
 * Finds the app (and its prepared HMAC keys) for a request's `X-Api-Key`.
 * With one app a missing key means that app; an unknown key, or no key when several apps are
 * configured, is refused.
 */
export interface AppKeyring {
  readonly apps: readonly ResolvedApp[];
  resolve(apiKeyHeader: string | undefined): ResolvedApp | HookError;
}

export function createAppKeyring(apps: readonly AppCredentials[]): AppKeyring {
  const byKey = new Map<string, ResolvedApp>();
  for (const app of apps) {
    if (!app.apiKey) throw new TypeError('pending-hooks: every app needs an apiKey');
    if (app.secrets.length === 0 || app.secrets.some((s) => !s)) {
      throw new TypeError(`pending-hooks: app ${app.apiKey} needs at least one non-empty secret`);
    }
    if (byKey.has(app.apiKey)) throw new TypeError(`pending-hooks: app ${app.apiKey} is configured twice`);
    byKey.set(app.apiKey, { apiKey: app.apiKey, secrets: app.secrets, keys: app.secrets.map(prepareSecret) });
  }
  const resolved = [...byKey.values()];
  const only = resolved.length === 1 ? resolved[0] : undefined;
  return {
    apps: resolved,
    resolve(apiKeyHeader) {
      if (apiKeyHeader === undefined || apiKeyHeader === '') {
        return (
          only ??
          new HookError(
            'unknown_api_key',
            'unauthenticated',
            `X-Api-Key header missing and ${resolved.length} apps are configured: Stream sends it on every callback`,
          )
        );
      }
      return (
        byKey.get(apiKeyHeader) ??
        new HookError('unknown_api_key', 'unauthenticated', `X-Api-Key "${apiKeyHeader.slice(0, 64)}" is not a configured app`)
      );
    },
  };
}
