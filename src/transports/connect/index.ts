import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createConnectRouter, createContextKey, createContextValues } from '@connectrpc/connect';
import { createAsyncIterable, type UniversalHandler } from '@connectrpc/connect/protocol';
import { HookError } from '../../core/hook-error.js';
import { headerValue, type NeutralRequest, type NeutralResponse } from '../../core/neutral.js';
import { createEvent, readVerifiedBody, type VerifiedBody } from '../../core/verified-body.js';
import type { Dispatcher } from '../../dispatch/dispatcher.js';
import { DeletedPendingMessageResponseSchema, PendingMessageResponseSchema, PendingMessageService } from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { AppKeyring } from '../../signature/app-keyring.js';
import type { Logger } from 'pino';
import { jsonNestsDeeperThan } from '../json-depth.js';
import { payloadFromRequest } from '../twirp/decode.js';
import { actionToProto } from '../twirp/message-convert.js';
import { connectCodeName, connectCodeToHttpStatus, hookErrorToConnectCode } from './error-code.js';

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
  dispatcher: Dispatcher;
  bodyLimit: number;
  maxJsonDepth: number;
  logger: Logger;
}

export interface ConnectTransport {
  /** Full paths served (prefix included). */
  readonly paths: readonly string[];
  handle(request: NeutralRequest): Promise<NeutralResponse>;
  /** An error met by an adapter (such as a too-large body), in the caller's protocol. */
  fail(contentType: string | undefined, error: HookError): NeutralResponse;
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
      const event = createEvent('PassOnPendingMessage', payload, call.verified.app, call.request, 'connect');
      const result = await dispatcher.passOn(event, call.request.receivedAt);
      if (result.kind === 'accepted') return create(PendingMessageResponseSchema, { accepted: true });
      if (result.kind === 'not_applied') {
        throw new ConnectError(`the ${result.outcome.action} decision could not be applied through Stream's API in time; retry`, Code.Unavailable);
      }
      const { outcome } = result;
      return create(PendingMessageResponseSchema, { action: actionToProto(outcome.action), reason: outcome.reason ?? '', timedOut: outcome.timedOut });
    },
    async deletedPendingMessage(request, context) {
      const call = context.values.get(callKey)!;
      call.reached = true;
      const payload = payloadFromRequest(request);
      if (payload instanceof HookError) throw new ConnectError(payload.message, Code.InvalidArgument);
      await dispatcher.deleted(createEvent('DeletedPendingMessage', payload, call.verified.app, call.request, 'connect'), call.request.receivedAt);
      return create(DeletedPendingMessageResponseSchema, {});
    },
  });

  const handlers = new Map<string, UniversalHandler>(router.handlers.map((handler) => [`${prefix}${handler.requestPath}`, handler]));

  async function authenticate(request: NeutralRequest): Promise<VerifiedBody | HookError> {
    if (!options.authenticate) {
      return readVerifiedBody(request, { keyring, bodyLimit: deps.bodyLimit, verify: true, malformedCode: 'malformed_protobuf', sniffGzip: false });
    }
    const verdict = await options.authenticate(request);
    const apiKey = typeof verdict === 'string' ? verdict : verdict === true && keyring.apps.length === 1 ? keyring.apps[0]!.apiKey : undefined;
    const app = apiKey === undefined ? undefined : keyring.apps.find((a) => a.apiKey === apiKey);
    if (!app) return new HookError('invalid_signature', 'unauthenticated', 'the connect.authenticate option refused the request');
    if (request.body.length > deps.bodyLimit) return new HookError('payload_too_large', `body exceeds ${deps.bodyLimit} bytes`);
    return { app, body: request.body };
  }

  return {
    paths: [...handlers.keys()],
    fail: (contentType, error) => errorResponse(contentType ?? '', error),
    async handle(request) {
      const handler = handlers.get(request.path);
      const contentType = headerValue(request.headers, 'content-type') ?? '';
      if (!handler) return errorResponse(contentType, new HookError('not_found', `no procedure at ${request.path}`));
      const verified = await authenticate(request);
      if (verified instanceof HookError) {
        logger.warn({ path: request.path, code: verified.code, why: verified.detail ?? verified.message }, 'callback refused');
        return errorResponse(contentType, verified);
      }
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

/** An error in the caller's protocol, without handing unverified bytes to a decoder. */
function errorResponse(contentType: string, error: HookError): NeutralResponse {
  const code = hookErrorToConnectCode[error.code];
  if (contentType.startsWith('application/grpc-web')) {
    // A trailers-only gRPC-Web answer: HTTP 200, the status in headers.
    return { status: 200, headers: { 'content-type': contentType, 'grpc-status': String(code), 'grpc-message': encodeURIComponent(error.message) }, body: '' };
  }
  return {
    status: connectCodeToHttpStatus[code] ?? 500,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: connectCodeName(code), message: error.message }),
  };
}
