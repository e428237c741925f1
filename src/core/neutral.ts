/**
 * Framework-neutral request and response: fastify, plain node:http, the CLI and the
 * benchmarks all drive the same core through these two shapes.
 */
import type { RequestScope } from './request-scope.js';

/** Header map with lowercase names, as node:http presents them. */
export type NeutralHeaders = Record<string, string | string[] | undefined>;

export interface NeutralRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: NeutralHeaders;
  /** The raw body bytes exactly as received (possibly gzip-compressed). */
  body: Uint8Array;
  /** `performance.now()` when the request arrived: the budget's clock starts here. */
  receivedAt: number;
  /**
   * The request's one cancellation scope (deadline, shutdown), which the server adapter marks
   * `clientGone` when the client closes the connection before the answer. Made by the dispatcher
   * when absent.
   */
  scope?: RequestScope;
}

export interface NeutralResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** Reads one header as a single string (the first value when repeated). */
export function headerValue(headers: NeutralHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
