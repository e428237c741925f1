import { HookError, type HookErrorCode } from '../core/hook-error.js';
import { inflateBody } from '../core/inflate-body.js';
import { headerValue, type NeutralRequest } from '../core/neutral.js';
import type { AppKeyring, ResolvedApp } from './app-keyring.js';
import { verifyRequestSignature } from './verify-request.js';

export interface VerifiedBody {
  readonly app: ResolvedApp;
  /** The uncompressed body the signature covers. */
  readonly body: Uint8Array;
}

export interface VerifyOptions {
  readonly keyring: AppKeyring;
  readonly bodyLimit: number;
  /** False only when signature checks were explicitly turned off for this transport. */
  readonly verify: boolean;
  /** The code for a body that is not valid gzip. */
  readonly malformedCode: HookErrorCode;
  /** Recognise gzip by its magic bytes even without `Content-Encoding` (not for enveloped protocols). */
  readonly sniffGzip: boolean;
}

const unverifiedKeys: ResolvedApp['keys'] = [];

/**
 * The size and signature stages every transport shares: raw size, inflate (bounded), app
 * lookup by `X-Api-Key`, and the `X-Signature` check over the uncompressed bytes — all before
 * anything is parsed. Errors are returned as values for the transport to encode.
 */
export function readVerifiedBody(request: NeutralRequest, options: VerifyOptions): VerifiedBody | HookError | Promise<VerifiedBody | HookError> {
  const raw = request.body;
  if (raw.length > options.bodyLimit) return new HookError('payload_too_large', `body exceeds ${options.bodyLimit} bytes`);
  const encoding = headerValue(request.headers, 'content-encoding');
  const gzipDeclared = encoding !== undefined && encoding.trim().toLowerCase() === 'gzip';
  const inflating = gzipDeclared || options.sniffGzip ? inflateBody(raw, gzipDeclared, options.bodyLimit, options.malformedCode) : raw;
  if (inflating instanceof Uint8Array) return verifyBody(request, raw, inflating, options);
  return inflating.then((body) => (body instanceof HookError ? body : verifyBody(request, raw, body, options)));
}

function verifyBody(request: NeutralRequest, raw: Uint8Array, body: Uint8Array, options: VerifyOptions): VerifiedBody | HookError {
  const apiKeyHeader = headerValue(request.headers, 'x-api-key');
  const app = options.keyring.resolve(apiKeyHeader);
  if (app instanceof HookError) {
    if (options.verify || options.keyring.apps.length > 0) return app;
    return { app: { apiKey: apiKeyHeader || 'unverified', secrets: [], keys: unverifiedKeys }, body };
  }
  if (options.verify) {
    const invalid = verifyRequestSignature(app, body, raw, headerValue(request.headers, 'x-signature'));
    if (invalid) return invalid;
  }
  return { app, body };
}

/**
 * Your own check of who a caller is, replacing the `X-Signature` check (Connect's
 * `authenticate` option, e.g. a bearer token): the api key of the app the caller acts for,
 * `true` when one app is configured, or `false` to refuse (unauthenticated).
 */
export type Authenticate = (request: NeutralRequest) => string | boolean | Promise<string | boolean>;

/**
 * The size and signature stages when an `authenticate` check replaces the signature: the app
 * its verdict names (else `invalid_signature`), the raw size, and the body, inflated when gzip
 * is declared (the `Content-Encoding` header is not handed on, so the body must be).
 */
export function readAuthenticatedBody(request: NeutralRequest, authenticate: Authenticate, options: VerifyOptions): VerifiedBody | HookError | Promise<VerifiedBody | HookError> {
  const verdict = authenticate(request);
  return typeof verdict === 'object' ? Promise.resolve(verdict).then((settled) => admit(request, settled, options)) : admit(request, verdict, options);
}

function admit(request: NeutralRequest, verdict: string | boolean, options: VerifyOptions): VerifiedBody | HookError | Promise<VerifiedBody | HookError> {
  const { apps } = options.keyring;
  const apiKey = typeof verdict === 'string' ? verdict : verdict === true && apps.length === 1 ? apps[0]!.apiKey : undefined;
  const app = apiKey === undefined ? undefined : apps.find((a) => a.apiKey === apiKey);
  if (!app) return new HookError('invalid_signature', 'unauthenticated', 'the connect.authenticate option refused the request');
  if (request.body.length > options.bodyLimit) return new HookError('payload_too_large', `body exceeds ${options.bodyLimit} bytes`);
  const encoding = headerValue(request.headers, 'content-encoding');
  if (encoding === undefined || encoding.trim().toLowerCase() !== 'gzip') return { app, body: request.body };
  const body = inflateBody(request.body, true, options.bodyLimit, options.malformedCode);
  return body instanceof Uint8Array ? { app, body } : body.then((inflated) => (inflated instanceof HookError ? inflated : { app, body: inflated }));
}
