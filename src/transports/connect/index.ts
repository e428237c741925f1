import type { RateLimitedLog } from '../../core/log-safe.js';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createConnectRouter, createContextKey, createContextValues } from '@connectrpc/connect';
import { createAsyncIterable, type UniversalHandler } from '@connectrpc/connect/protocol';
import type { Logger } from 'pino';
import { refusalClosesConnection, withConnectionClose } from '../../core/connection-close.js';
import { decisionNotApplied, HookError } from '../../core/hook-error.js';
import { clip } from '../../core/log-safe.js';
import { inflateBody } from '../../core/inflate-body.js';
import { headerValue, type NeutralRequest, type NeutralResponse } from '../../core/neutral.js';
import { messageIdProblem } from '../../event/message-id.js';
import { createEvent } from '../../event/create-event.js';
import { readVerifiedBody, type VerifiedBody } from '../../signature/verified-body.js';
import type { PendingMessageMethod } from '../../event/pending-message-event.js';
import { DeletedPendingMessageResponseSchema, PendingMessageResponseSchema, PendingMessageService } from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { AppKeyring } from '../../signature/app-keyring.js';
import { jsonNestsDeeperThan } from '../json-depth.js';
import { payloadFromRequest } from '../twirp/decode.js';
import { actionToProto } from '../twirp/message-convert.js';
import { errorResponse } from './errors.js';
import { createUnaryFastPath, fastUnaryEncoding, type ConnectDispatch } from './unary-fast-path.js';

/**
 * Connect and gRPC-Web on the same handlers. Stream never sends these; they serve your own
 * services and tools (for example a backfill job that asks for decisions). Off by default.
 */
export interface ConnectTransportOptions {
  /** Routes are `{prefix}/pendingmessage.v1.PendingMessageService/{Method}`. Default `/connect`. */
  prefix?: string;
  /** Also serve gRPC-Web (HTTP/1.1). Default true. */
  grpcWeb?: boolean;
  /**
   * Your own authentication for these routes, replacing the `X-Signature` check (for callers
   * that cannot sign raw bytes, e.g. a bearer token). Return the api key of the app the caller
   * acts for, `true` when one app is configured, or `false` to refuse (unauthenticated).
   * Without it the same `X-Signature` check as REST and Twirp applies.
   */
  authenticate?: (request: NeutralRequest) => string | boolean | Promise<string | boolean>;
}

export interface ConnectTransportDeps {
  keyring: AppKeyring;
  dispatcher: ConnectDispatch;
  bodyLimit: number;
  maxJsonDepth: number;
  logger: Logger;
  /** Where refused requests are logged (rate-limited). */
  refusals: RateLimitedLog;
}

export interface ConnectTransport {
  /** Full paths served (prefix included). */
  readonly paths: readonly string[];
  /**
   * Answers a call to one of `paths`: synchronously when everything on the way is (a Connect
   * unary call, a synchronous handler and dedupe store, no gzip, no async `authenticate`).
   */
  handle(request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** An error met by an adapter (such as a too-large body), in the caller's protocol. */
  fail(contentType: string | undefined, error: HookError): NeutralResponse;
}

/** One served procedure: connect-es's handler, and the method for the fast path. */
interface Procedure {
  handler: UniversalHandler;
  method: PendingMessageMethod;
}

interface CallContext {
  verified: VerifiedBody;
  request: NeutralRequest;
  /** Set when the implementation ran: a failure before it was decoding the request. */
  reached: boolean;
}

const callKey = createContextKey<CallContext | undefined>(undefined, { description: 'pending-hooks call' });

/**
 * Serves the PendingMessageService over Connect and gRPC-Web with connect-es's own protocol
 * handlers (`createConnectRouter`), fed the raw bytes this framework already read: so the
 * signature is checked over exactly those bytes before connect decodes anything, which
 * `@connectrpc/connect-fastify` cannot offer (it reads the request stream itself).
 *
 * Connect unary calls (`POST`, `application/proto` or `application/json`) skip connect-es's
 * machinery: `unary-fast-path.ts` answers them with the same bytes, synchronously when the
 * dispatcher answers synchronously. Everything else goes through connect-es.
 */
export function createConnectTransport(options: ConnectTransportOptions, deps: ConnectTransportDeps): ConnectTransport {
  const { keyring, dispatcher, logger } = deps;
  const prefix = (options.prefix ?? '/connect').replace(/\/+$/, '');
  const router = createConnectRouter({ grpc: false, grpcWeb: options.grpcWeb ?? true, connect: true, readMaxBytes: deps.bodyLimit });

  router.service(PendingMessageService, {
    async passOnPendingMessage(request, context) {
      const call = context.values.get(callKey)!;
      call.reached = true;
      const payload = payloadFromRequest(request);
      if (payload instanceof HookError) throw new ConnectError(payload.message, Code.InvalidArgument);
      const idProblem = messageIdProblem(payload.message.id);
      if (idProblem !== undefined) throw new ConnectError(idProblem, Code.InvalidArgument);
      const event = createEvent('PassOnPendingMessage', payload, call.verified.app.apiKey, call.request, 'connect');
      const result = await dispatcher.passOn(event, call.request.receivedAt);
      if (result.kind === 'accepted') return create(PendingMessageResponseSchema, { accepted: true });
      if (result.kind === 'not_applied') {
        throw new ConnectError(decisionNotApplied(result.outcome.action).message, Code.Unavailable);
      }
      const { outcome } = result;
      return create(PendingMessageResponseSchema, { action: actionToProto(outcome.action), reason: outcome.reason ?? '', timedOut: outcome.timedOut });
    },
    async deletedPendingMessage(request, context) {
      const call = context.values.get(callKey)!;
      call.reached = true;
      const payload = payloadFromRequest(request);
      if (payload instanceof HookError) throw new ConnectError(payload.message, Code.InvalidArgument);
      const idProblem = messageIdProblem(payload.message.id);
      if (idProblem !== undefined) throw new ConnectError(idProblem, Code.InvalidArgument);
      await dispatcher.deleted(createEvent('DeletedPendingMessage', payload, call.verified.app.apiKey, call.request, 'connect'), call.request.receivedAt);
      return create(DeletedPendingMessageResponseSchema, {});
    },
  });

  const procedures = new Map<string, Procedure>(
    router.handlers.map((handler) => [`${prefix}${handler.requestPath}`, { handler, method: handler.method.name as PendingMessageMethod }]),
  );
  const fastPath = createUnaryFastPath({ dispatcher, maxJsonDepth: deps.maxJsonDepth, logger });

  function authenticate(request: NeutralRequest): VerifiedBody | HookError | Promise<VerifiedBody | HookError> {
    if (!options.authenticate) {
      return readVerifiedBody(request, { keyring, bodyLimit: deps.bodyLimit, verify: true, malformedCode: 'malformed_protobuf', sniffGzip: false });
    }
    const verdict = options.authenticate(request);
    return typeof verdict === 'object' ? Promise.resolve(verdict).then((settled) => admit(request, settled)) : admit(request, verdict);
  }

  /** The app an `authenticate` verdict names, and the body (inflated when gzip is declared). */
  function admit(request: NeutralRequest, verdict: string | boolean): VerifiedBody | HookError | Promise<VerifiedBody | HookError> {
    const apiKey = typeof verdict === 'string' ? verdict : verdict === true && keyring.apps.length === 1 ? keyring.apps[0]!.apiKey : undefined;
    const app = apiKey === undefined ? undefined : keyring.apps.find((a) => a.apiKey === apiKey);
    if (!app) return new HookError('invalid_signature', 'unauthenticated', 'the connect.authenticate option refused the request');
    if (request.body.length > deps.bodyLimit) return new HookError('payload_too_large', `body exceeds ${deps.bodyLimit} bytes`);
    const encoding = headerValue(request.headers, 'content-encoding');
    if (encoding === undefined || encoding.trim().toLowerCase() !== 'gzip') return { app, body: request.body };
    // As readVerifiedBody does: the Content-Encoding header is not handed on, so the body must be.
    const body = inflateBody(request.body, true, deps.bodyLimit, 'malformed_protobuf');
    return body instanceof Uint8Array ? { app, body } : body.then((inflated) => (inflated instanceof HookError ? inflated : { app, body: inflated }));
  }

  function serve(request: NeutralRequest, contentType: string, procedure: Procedure, verified: VerifiedBody | HookError): NeutralResponse | Promise<NeutralResponse> {
    if (verified instanceof HookError) {
      deps.refusals.write('warn', { path: clip(request.path), code: verified.code, why: verified.detail ?? verified.message }, 'callback refused');
      return refusal(contentType, verified);
    }
    const encoding = fastUnaryEncoding(request);
    const answer = encoding === undefined ? undefined : fastPath(procedure.method, encoding, request, verified);
    return answer ?? viaConnectEs(request, contentType, procedure.handler, verified);
  }

  /** Everything the fast path does not serve: connect-es's own protocol handlers answer. */
  async function viaConnectEs(request: NeutralRequest, contentType: string, handler: UniversalHandler, verified: VerifiedBody): Promise<NeutralResponse> {
    if (/json/i.test(contentType) && jsonNestsDeeperThan(verified.body, deps.maxJsonDepth)) {
      return errorResponse(contentType, new HookError('malformed_json', `JSON nests deeper than ${deps.maxJsonDepth} levels`));
    }
    const header = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      // The body handed on is already inflated.
      if (value === undefined || name === 'content-encoding' || name === 'content-length') continue;
      header.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const call: CallContext = { verified, request, reached: false };
    const response = await handler({
      httpVersion: '1.1',
      url: `http://localhost${request.path}`,
      method: request.method,
      header,
      body: createAsyncIterable([verified.body]),
      signal: new AbortController().signal,
      contextValues: createContextValues().set(callKey, call),
    });
    const failedBeforeHandler = !call.reached && (response.status >= 500 || (response.header?.get('grpc-status') ?? '0') !== '0');
    if (failedBeforeHandler && response.status !== 415 && response.status !== 404) {
      // connect-es reports an undecodable request body as `internal` (500); it is the caller's fault.
      return errorResponse(contentType, new HookError('malformed_protobuf', 'request body could not be decoded'));
    }
    return toNeutralResponse(response.status, response.header, response.body);
  }

  /** An error answer; refusals of who the client is or what it asks for close its connection, as in the pipeline. */
  function refusal(contentType: string, error: HookError): NeutralResponse {
    const response = errorResponse(contentType, error);
    return refusalClosesConnection(error.code) ? withConnectionClose(response) : response;
  }

  return {
    paths: [...procedures.keys()],
    fail: (contentType, error) => refusal(contentType ?? '', error),
    handle(request) {
      const procedure = procedures.get(request.path);
      const contentType = headerValue(request.headers, 'content-type') ?? '';
      if (!procedure) return refusal(contentType, new HookError('not_found', `no procedure at ${clip(request.path)}`));
      const verified = authenticate(request);
      return verified instanceof Promise ? verified.then((settled) => serve(request, contentType, procedure, settled)) : serve(request, contentType, procedure, verified);
    },
  };
}

async function toNeutralResponse(status: number, header: Headers | undefined, body: AsyncIterable<Uint8Array> | undefined): Promise<NeutralResponse> {
  const headers: Record<string, string> = {};
  header?.forEach((value, name) => (headers[name] = value));
  const chunks: Uint8Array[] = [];
  if (body) for await (const chunk of body) chunks.push(chunk);
  return { status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
}
