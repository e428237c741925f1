import type { NeutralHeaders } from '../../core/neutral.js';

/*
 * Which Connect calls the pipeline decodes and encodes itself (the Connect codecs of
 * `index.ts`), judged from the method and headers alone: unary `POST`s with `application/proto`
 * or `application/json`, what a service calling the hooks sends. Everything else — gRPC-Web,
 * streaming content types, GET, a `connect-protocol-version` other than 1, a malformed
 * `connect-timeout-ms` — is connect-es's to answer (`connect-es.ts`), so that its protocol
 * handling and its refusals stay exactly its own.
 */

/** A Connect unary body encoding: `application/proto` or `application/json`. */
export type ConnectUnaryEncoding = 'proto' | 'json';

const unaryProto = /^application\/proto$/i;
// connect-es's `contentTypeUnaryRegExp`, JSON half.
const unaryJson = /^application\/json(?:; ?charset=utf-?8)?$/i;
// connect-es's `parseTimeout`; anything else it answers `invalid_argument`.
const validTimeout = /^\d{1,10}$/;

/** The encoding of a Connect unary call the pipeline serves itself; undefined when connect-es must answer it. */
export function connectUnaryEncoding(method: string, headers: NeutralHeaders): ConnectUnaryEncoding | undefined {
  if (method !== 'POST') return undefined;
  const contentType = headers['content-type'];
  if (typeof contentType !== 'string') return undefined;
  let encoding: ConnectUnaryEncoding;
  if (contentType === 'application/proto' || unaryProto.test(contentType)) encoding = 'proto';
  else if (unaryJson.test(contentType)) encoding = 'json';
  else return undefined;
  const version = headers['connect-protocol-version'];
  if (version !== undefined && version !== '1') return undefined;
  // A valid timeout only becomes a deadline on connect-es's AbortSignal, which our
  // implementation never reads: the dispatcher enforces the hook's own budget. So it changes
  // nothing in the answer and is ignored here; a malformed one is connect-es's to refuse.
  const timeout = headers['connect-timeout-ms'];
  if (timeout !== undefined && (typeof timeout !== 'string' || !validTimeout.test(timeout))) return undefined;
  return encoding;
}

/** True for gRPC-Web content types (`application/grpc-web`, `+proto`, `+json`, `-text`…): errors go in trailers. */
export function isGrpcWeb(contentType: string): boolean {
  return contentType.startsWith('application/grpc-web');
}
