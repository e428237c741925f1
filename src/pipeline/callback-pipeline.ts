import type { Logger } from 'pino';
import type { PassOnResult } from '../decision/decision.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { messageIdProblem } from '../event/message-id.js';
import type { DecodedPayload, PendingMessageEvent } from '../event/pending-message-event.js';
import type { AppKeyring } from '../signature/app-keyring.js';
import type { CallbackRoute, TransportFamily, WireCodec } from '../transports/codec.js';
import type { ServedBy } from '../transports/transport-for-path.js';
import { decisionNotApplied, HookError } from '../core/hook-error.js';
import { noMetrics, type CallbackOutcome, type HookMetrics } from '../observe/metrics.js';
import type { LoadShedder } from '../core/load-shedder.js';
import { clip, type RateLimitedLog } from '../core/log-safe.js';
import { headerValue, type NeutralHeaders, type NeutralRequest, type NeutralResponse } from '../core/neutral.js';
import { refusalClosesConnection, withConnectionClose } from '../core/connection-close.js';
import { createEvent } from '../event/create-event.js';
import { readAuthenticatedBody, readVerifiedBody, type VerifiedBody, type VerifyOptions } from '../signature/verified-body.js';

export type { CallbackRoute } from '../transports/codec.js';

export interface PipelineOptions {
  /** Every served path: REST, Twirp and Connect routes. */
  routes: readonly CallbackRoute[];
  /** Picks the transport for a path: its route, or the family that answers an unknown path. */
  transportFor(path: string): ServedBy;
  keyring: AppKeyring;
  bodyLimit: number;
  maxJsonDepth: number;
  dispatcher: Dispatcher;
  logger: Logger;
  /** Where refused requests are logged: rate-limited, since any client can cause them. */
  refusals: RateLimitedLog;
  /** Sheds callbacks (503 `overloaded`) over the in-flight or event-loop-delay bound. */
  shedder: LoadShedder;
  /** Counts callbacks, refusals and sheds (`noMetrics`: nothing). */
  metrics: HookMetrics;
  /** The budget, for the budget-left metric. */
  timeoutMs: number;
}

/** A request that passed route, method and content-type checks. */
export interface PreflightMatch {
  readonly route: CallbackRoute;
  readonly codec: WireCodec;
}

/**
 * The request pipeline, framework-neutral, the same for every transport: route and method →
 * content type → size → signature → decode → validate → dispatch → answer. `handle` runs all
 * of it; adapters that check route, method, content type and size themselves (the node
 * listener, the fastify plugin) call `preflight` early and `process` once the body is read.
 */
export interface CallbackPipeline {
  readonly routes: readonly CallbackRoute[];
  /**
   * The transport for a path (without query string): its route (REST, Twirp or Connect), or
   * for a path no route serves, the family whose format answers it (`'family' in served`).
   */
  transportFor(path: string): ServedBy;
  /** Runs every stage; synchronous when every stage is (no gzip, synchronous handler and store, dry run). */
  handle(request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** Route, method and content-type checks, and shedding; an error response, or the codec to use. */
  preflight(route: CallbackRoute, method: string, headers: NeutralHeaders): PreflightMatch | NeutralResponse;
  /** Size (inflated), signature, decode, validate, dispatch, answer; synchronous when every stage is. */
  process(match: PreflightMatch, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** The error answer for an unknown path, in the protocol the path looks like. */
  notFound(path: string, method: string): NeutralResponse;
  /** Answers an error met by an adapter (such as a too-large body) in the route's protocol. */
  fail(route: CallbackRoute | undefined, path: string, error: HookError, headers?: NeutralHeaders): NeutralResponse;
}

const gzipEncoding = 'gzip';
const noHeaders: NeutralHeaders = Object.freeze({});

export function createCallbackPipeline(options: PipelineOptions): CallbackPipeline {
  const { keyring, bodyLimit, dispatcher, logger, refusals, shedder, metrics, transportFor } = options;
  const timeoutSeconds = options.timeoutMs / 1000;
  const limits = { maxJsonDepth: options.maxJsonDepth };
  const verifyOptionsFor = (verify: boolean, protobuf: boolean, sniffGzip = true): VerifyOptions => ({
    keyring,
    bodyLimit,
    verify,
    malformedCode: protobuf ? 'malformed_protobuf' : 'malformed_json',
    sniffGzip,
  });
  // By (route verifies ? 2 : 0) + (protobuf ? 1 : 0): built once, not per request.
  const verifyOptions = [verifyOptionsFor(false, false), verifyOptionsFor(false, true), verifyOptionsFor(true, false), verifyOptionsFor(true, true)];
  // Connect always verifies (or authenticates); gzip only when declared (gRPC-Web bodies are enveloped).
  const connectVerifyOptions = verifyOptionsFor(true, true, false);

  /** Logs and counts a refusal. Context values are the client's: callers pass them through `clip`. */
  function logRefusal(error: HookError, context: Record<string, unknown>): void {
    refusals.write(error.code === 'internal' ? 'error' : 'warn', { ...context, code: error.code, why: error.detail ?? error.message }, 'callback refused');
    metrics.refused(error.code);
  }

  function refuse(family: TransportFamily | WireCodec, error: HookError, context: Record<string, unknown>, headers: NeutralHeaders): NeutralResponse {
    logRefusal(error, context);
    const response = family.encodeError(error, headers);
    return refusalClosesConnection(error.code) ? withConnectionClose(response) : response;
  }

  function preflight(route: CallbackRoute, method: string, headers: NeutralHeaders): PreflightMatch | NeutralResponse {
    const contentType = headerValue(headers, 'content-type');
    const codec = route.family.codecFor(contentType, method, headers);
    if (codec === undefined) {
      if (method !== 'POST') {
        const shown = clip(method);
        return refuse(route.family, new HookError('method_not_allowed', `${shown} is not allowed; Stream POSTs callbacks`), { path: route.path, method: shown }, headers);
      }
      return refuse(route.family, new HookError('unsupported_media_type', `content type ${JSON.stringify(clip(contentType) ?? '')} is not served here`), { path: route.path }, headers);
    }
    const encoding = headerValue(headers, 'content-encoding');
    if (encoding !== undefined && encoding !== gzipEncoding && encoding !== 'identity' && encoding.trim().toLowerCase() !== gzipEncoding) {
      return refuse(route.family, new HookError('unsupported_media_type', `content encoding ${JSON.stringify(clip(encoding))} is not supported (gzip is)`), { path: route.path }, headers);
    }
    // Shed before the body is read or decoded: the refusal costs less than the work it spares.
    const overloaded = shedder.admit();
    if (overloaded) {
      metrics.shed();
      return refuse(route.family, overloaded, { path: route.path, inFlight: shedder.inFlight, limit: shedder.limit, eventLoopDelayMs: Math.round(shedder.eventLoopDelayMs) }, headers);
    }
    return { route, codec };
  }

  function process(match: PreflightMatch, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse> {
    shedder.enter();
    let answered: NeutralResponse | Promise<NeutralResponse>;
    try {
      answered = verifyAndAnswer(match, request);
    } catch (error) {
      shedder.leave();
      throw error;
    }
    if (!(answered instanceof Promise)) {
      shedder.leave();
      return answered;
    }
    return answered.then(
      (settled) => {
        shedder.leave();
        return settled;
      },
      (error: unknown) => {
        shedder.leave();
        throw error;
      },
    );
  }

  /** Size and signature (or the route's `authenticate` check), then the rest. */
  function verifyAndAnswer(match: PreflightMatch, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse> {
    const { route, codec } = match;
    let verifying: VerifiedBody | HookError | Promise<VerifiedBody | HookError>;
    if (codec.transport === 'connect') {
      verifying = route.authenticate === undefined ? readVerifiedBody(request, connectVerifyOptions) : readAuthenticatedBody(request, route.authenticate, connectVerifyOptions);
    } else {
      verifying = readVerifiedBody(request, verifyOptions[(route.verify ? 2 : 0) + (codec.transport === 'twirp-protobuf' ? 1 : 0)]!);
    }
    if (verifying instanceof Promise) return verifying.then((verified) => answer(match, request, verified));
    return answer(match, request, verifying);
  }

  /** Decode → validate → dispatch → encode. */
  function answer(match: PreflightMatch, request: NeutralRequest, verified: VerifiedBody | HookError): NeutralResponse | Promise<NeutralResponse> {
    const { route, codec } = match;
    if (verified instanceof HookError) {
      return refuse(codec, verified, { path: route.path, webhookId: clip(headerValue(request.headers, 'x-webhook-id')) }, request.headers);
    }
    // A protocol a library decodes and encodes (connect-es: gRPC-Web): it calls back for validate → dispatch.
    if (codec.serve !== undefined) return codec.serve(request, verified, route.method, (payload) => dispatchDecoded(match, request, verified, payload));
    const payload = codec.decode(verified.body, limits);
    if (payload instanceof HookError) {
      return refuse(codec, payload, { path: route.path, webhookId: clip(headerValue(request.headers, 'x-webhook-id')), apiKey: verified.app.apiKey }, request.headers);
    }
    const invalid = validate(match, request, verified, payload);
    if (invalid !== undefined) return codec.encodeError(invalid);
    const event = createEvent(route.method, payload, verified.app.apiKey, request, codec.transport);
    try {
      if (route.method === 'DeletedPendingMessage') {
        return dispatcher.deleted(event, request.receivedAt, request.scope).then(
          () => {
            finished(event, request.receivedAt, 'deleted');
            return codec.encodeDeleted();
          },
          (error: unknown) => codec.encodeError(dispatchFailed(event, error)),
        );
      }
      const result = dispatcher.passOn(event, request.receivedAt, request.scope);
      if (!(result instanceof Promise)) return encodeResult(codec, result, event, request.receivedAt);
      return result.then(
        (settled) => encodeResult(codec, settled, event, request.receivedAt),
        (error: unknown) => codec.encodeError(dispatchFailed(event, error)),
      );
    } catch (error) {
      return codec.encodeError(dispatchFailed(event, error));
    }
  }

  /**
   * Validate → dispatch for a codec that decodes and encodes through a library: the same stages
   * as `answer`, with the decision (or the error to answer) handed back instead of encoded.
   */
  async function dispatchDecoded(match: PreflightMatch, request: NeutralRequest, verified: VerifiedBody, payload: DecodedPayload): Promise<PassOnResult | HookError | undefined> {
    const { route, codec } = match;
    const invalid = validate(match, request, verified, payload);
    if (invalid !== undefined) return invalid;
    const event = createEvent(route.method, payload, verified.app.apiKey, request, codec.transport);
    try {
      if (route.method === 'DeletedPendingMessage') {
        await dispatcher.deleted(event, request.receivedAt, request.scope);
        finished(event, request.receivedAt, 'deleted');
        return undefined;
      }
      const result = await dispatcher.passOn(event, request.receivedAt, request.scope);
      finished(event, request.receivedAt, outcomeOf(result));
      return result;
    } catch (error) {
      return dispatchFailed(event, error);
    }
  }

  /** Validate: a message id that cannot be a Stream id is refused (logged and counted) before any handler. */
  function validate(match: PreflightMatch, request: NeutralRequest, verified: VerifiedBody, payload: DecodedPayload): HookError | undefined {
    const idProblem = messageIdProblem(payload.message.id);
    if (idProblem === undefined) return undefined;
    const error = new HookError('invalid_payload', idProblem);
    logRefusal(error, {
      path: match.route.path,
      webhookId: clip(headerValue(request.headers, 'x-webhook-id')),
      apiKey: verified.app.apiKey,
      messageId: clip(payload.message.id),
    });
    return error;
  }

  function outcomeOf(result: PassOnResult): CallbackOutcome {
    return result.kind === 'decided' ? result.outcome.action : result.kind;
  }

  /** A dispatched callback's answer: its latency teaches the shedder's limit, and is counted. */
  function finished(event: PendingMessageEvent, receivedAt: number, outcome: CallbackOutcome): void {
    const now = performance.now();
    const ms = now - receivedAt;
    shedder.finished(ms, now);
    if (metrics !== noMetrics) metrics.callback(event.transport, event.method, outcome, ms / 1000, timeoutSeconds - ms / 1000);
  }

  function encodeResult(codec: WireCodec, result: PassOnResult, event: PendingMessageEvent, receivedAt: number): NeutralResponse {
    finished(event, receivedAt, outcomeOf(result));
    if (result.kind === 'decided') return codec.encodePassOn(result.outcome);
    if (result.kind === 'accepted') return codec.encodeAccepted();
    return codec.encodeError(decisionNotApplied(result.outcome.action));
  }

  /** Logs and counts a dispatcher that threw or rejected; the error to answer. */
  function dispatchFailed(event: PendingMessageEvent, error: unknown): HookError {
    finished(event, event.receivedAt, 'error');
    logger.error({ err: error, webhookId: event.webhookId, messageId: event.message.id }, 'dispatch failed');
    return new HookError('internal', 'internal error');
  }

  function notFound(path: string, method: string): NeutralResponse {
    const served = transportFor(path);
    const shownMethod = clip(method);
    // A known path reached with a method the adapter does not route (PROPFIND, QUERY, …).
    if ('family' in served) return refuse(served.family, new HookError('method_not_allowed', `${shownMethod} is not allowed; Stream POSTs callbacks`), { path, method: shownMethod }, noHeaders);
    const shownPath = clip(path);
    return refuse(served, new HookError('not_found', `no callback is served at ${shownPath}`), { path: shownPath, method: shownMethod }, noHeaders);
  }

  return {
    routes: options.routes,
    transportFor,
    preflight,
    process,
    notFound,
    fail(route, path, error, headers = noHeaders) {
      if (route !== undefined) return refuse(route.family, error, { path: clip(path) }, headers);
      const served = transportFor(path);
      return refuse('family' in served ? served.family : served, error, { path: clip(path) }, headers);
    },
    handle(request) {
      const served = transportFor(request.path);
      if (!('family' in served)) return notFound(request.path, request.method);
      const match = preflight(served, request.method, request.headers);
      if (!('codec' in match)) return match;
      return process(match, request);
    },
  };
}
