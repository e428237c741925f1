import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createConnectRouter, createContextKey, createContextValues } from '@connectrpc/connect';
import { createAsyncIterable, type UniversalHandler } from '@connectrpc/connect/protocol';
import { decisionNotApplied, HookError } from '../../core/hook-error.js';
import type { NeutralRequest, NeutralResponse } from '../../core/neutral.js';
import type { PassOnResult } from '../../decision/decision.js';
import type { DecodedPayload, PendingMessageMethod } from '../../event/pending-message-event.js';
import { DeletedPendingMessageResponseSchema, PendingMessageResponseSchema, PendingMessageService, type PendingMessageRequest } from '../../gen/pendingmessage/v1/pending_message_pb.js';
import type { VerifiedBody } from '../../signature/verified-body.js';
import type { DispatchDecoded } from '../codec.js';
import { jsonNestsDeeperThan } from '../json-depth.js';
import { payloadFromRequest } from '../twirp/decode.js';
import { actionToProto } from '../twirp/message-convert.js';
import { errorResponse, hookErrorToConnectCode } from './errors.js';

/*
 * The Connect calls the pipeline does not decode itself (gRPC-Web, streaming content types, GET,
 * other protocol versions, malformed timeouts: see `content-type.ts`) are answered by
 * connect-es's own protocol handlers (`createConnectRouter`), fed the raw bytes the pipeline
 * already read and verified: so the signature is checked over exactly those bytes before
 * connect-es decodes anything, which `@connectrpc/connect-fastify` cannot offer (it reads the
 * request stream itself). The service implementation hands the decoded request back to the
 * pipeline's validate and dispatch stages.
 */

export interface ConnectEsOptions {
  /** Also serve gRPC-Web (HTTP/1.1). */
  readonly grpcWeb: boolean;
  readonly bodyLimit: number;
  readonly maxJsonDepth: number;
}

/** Serves one verified call through connect-es (`WireCodec.serve`). */
export type ConnectEsServe = (
  contentType: string,
  request: NeutralRequest,
  verified: VerifiedBody,
  method: PendingMessageMethod,
  dispatch: DispatchDecoded,
) => Promise<NeutralResponse>;

interface CallContext {
  readonly dispatch: DispatchDecoded;
  /** Set when the implementation ran: a failure before it was decoding the request. */
  reached: boolean;
}

const callKey = createContextKey<CallContext | undefined>(undefined, { description: 'pending-hooks call' });

/** The decoded request through the pipeline's stages: the decision, or the error connect-es answers. */
async function dispatched(request: PendingMessageRequest, call: CallContext): Promise<PassOnResult | undefined> {
  call.reached = true;
  const payload: DecodedPayload | HookError = payloadFromRequest(request);
  if (payload instanceof HookError) throw new ConnectError(payload.message, Code.InvalidArgument);
  const result = await call.dispatch(payload);
  if (result instanceof HookError) throw new ConnectError(result.message, hookErrorToConnectCode[result.code]);
  return result;
}

export function createConnectEsServe(options: ConnectEsOptions): ConnectEsServe {
  const router = createConnectRouter({ grpc: false, grpcWeb: options.grpcWeb, connect: true, readMaxBytes: options.bodyLimit });
  router.service(PendingMessageService, {
    async passOnPendingMessage(request, context) {
      const result = (await dispatched(request, context.values.get(callKey)!))!;
      if (result.kind === 'accepted') return create(PendingMessageResponseSchema, { accepted: true });
      if (result.kind === 'not_applied') throw new ConnectError(decisionNotApplied(result.outcome.action).message, Code.Unavailable);
      const { outcome } = result;
      return create(PendingMessageResponseSchema, { action: actionToProto(outcome.action), reason: outcome.reason ?? '', timedOut: outcome.timedOut });
    },
    async deletedPendingMessage(request, context) {
      await dispatched(request, context.values.get(callKey)!);
      return create(DeletedPendingMessageResponseSchema, {});
    },
  });
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((handler) => [handler.method.name, handler]));

  return async (contentType, request, verified, method, dispatch) => {
    if (/json/i.test(contentType) && jsonNestsDeeperThan(verified.body, options.maxJsonDepth)) {
      return errorResponse(contentType, new HookError('malformed_json', `JSON nests deeper than ${options.maxJsonDepth} levels`));
    }
    const header = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      // The body handed on is already inflated.
      if (value === undefined || name === 'content-encoding' || name === 'content-length') continue;
      header.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const call: CallContext = { dispatch, reached: false };
    const response = await handlers.get(method)!({
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
  };
}

async function toNeutralResponse(status: number, header: Headers | undefined, body: AsyncIterable<Uint8Array> | undefined): Promise<NeutralResponse> {
  const headers: Record<string, string> = {};
  header?.forEach((value, name) => (headers[name] = value));
  const chunks: Uint8Array[] = [];
  if (body) for await (const chunk of body) chunks.push(chunk);
  return { status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
}
