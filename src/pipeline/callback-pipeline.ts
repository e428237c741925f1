import type { Logger } from 'pino';
import type { PassOnResult } from '../decision/decision.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { messageIdProblem } from '../event/message-id.js';
import type { PendingMessageEvent, PendingMessageMethod } from '../event/pending-message-event.js';
import type { AppKeyring } from '../signature/app-keyring.js';
import type { TransportFamily, WireCodec } from '../transports/codec.js';
import type { ConnectTransport } from '../transports/connect/index.js';
import { decisionNotApplied, HookError } from '../core/hook-error.js';
import { noMetrics, type CallbackOutcome, type HookMetrics } from '../observe/metrics.js';
import type { LoadShedder } from '../core/load-shedder.js';
import { clip, type RateLimitedLog } from '../core/log-safe.js';
import { headerValue, type NeutralHeaders, type NeutralRequest, type NeutralResponse } from '../core/neutral.js';
import { refusalClosesConnection, withConnectionClose } from '../core/connection-close.js';
import { createEvent } from '../event/create-event.js';
import { readVerifiedBody, type VerifiedBody, type VerifyOptions } from '../signature/verified-body.js';

/** One served path: which protocol, which of Stream's two methods. */
export interface CallbackRoute {
  readonly path: string;
  readonly family: TransportFamily;
  readonly method: PendingMessageMethod;
  /** False only when signature checks were explicitly turned off for this transport. */
  readonly verify: boolean;
}

export interface PipelineOptions {
  routes: readonly CallbackRoute[];
  /** Connect / gRPC-Web, which decode and encode through connect-es: served by path. */
  connect?: ConnectTransport | undefined;
  /** Picks the family that answers an unknown path (REST 404 or Twirp bad_route). */
  familyForUnknownPath(path: string): TransportFamily;
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
 * The request pipeline, framework-neutral: route and method → content type → size → signature
 * → decode → validate → dispatch → answer. `handle` runs all of it; adapters that check route,
 * method, content type and size themselves (the fastify plugin) call `preflight` early and
 * `process` once the body is read.
 */
export interface CallbackPipeline {
  readonly routes: readonly CallbackRoute[];
  /** The REST or Twirp route served at a path (without query string). */
  routeFor(path: string): CallbackRoute | undefined;
  /** True when a path is one of the Connect / gRPC-Web paths (handled by `handle`). */
  servesConnect(path: string): boolean;
  /** Runs every stage; synchronous when every stage is (no gzip, synchronous handler and store, dry run). */
  handle(request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** Route, method and content-type checks; an error response, or the codec to use. */
  preflight(route: CallbackRoute, method: string, headers: NeutralHeaders): PreflightMatch | NeutralResponse;
  /** Size (inflated), signature, decode, dispatch; synchronous when every stage is. */
  process(match: PreflightMatch, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** The error answer for an unknown path, in the protocol the path looks like. */
  notFound(path: string, method: string): NeutralResponse;
  /** Answers an error met by an adapter (such as a too-large body) in the route's protocol. */
  fail(route: CallbackRoute | undefined, path: string, error: HookError): NeutralResponse;
}

const gzipEncoding = 'gzip';

export function createCallbackPipeline(options: PipelineOptions): CallbackPipeline {
  const { keyring, bodyLimit, dispatcher, logger, refusals, shedder, metrics } = options;
  const timeoutSeconds = options.timeoutMs / 1000;
  const limits = { maxJsonDepth: options.maxJsonDepth };
  const byPath = new Map(options.routes.map((route) => [route.path, route]));
  const connectPaths = new Set(options.connect?.paths);
  const verifyOptionsFor = (verify: boolean, protobuf: boolean): VerifyOptions => ({
    keyring,
    bodyLimit,
    verify,
    malformedCode: protobuf ? 'malformed_protobuf' : 'malformed_json',
    sniffGzip: true,
  });
  // By (route verifies ? 2 : 0) + (protobuf ? 1 : 0): built once, not per request.
  const verifyOptions = [verifyOptionsFor(false, false), verifyOptionsFor(false, true), verifyOptionsFor(true, false), verifyOptionsFor(true, true)];

  /** Context values are the client's: callers pass them through `clip`. */
  function refuse(family: TransportFamily | WireCodec, error: HookError, context: Record<string, unknown>): NeutralResponse {
    refusals.write(error.code === 'internal' ? 'error' : 'warn', { ...context, code: error.code, why: error.detail ?? error.message }, 'callback refused');
    metrics.refused(error.code);
    const response = family.encodeError(error);
    return refusalClosesConnection(error.code) ? withConnectionClose(response) : response;
  }

  function preflight(route: CallbackRoute, method: string, headers: NeutralHeaders): PreflightMatch | NeutralResponse {
    if (method !== 'POST') {
      const shown = clip(method);
      return refuse(route.family, new HookError('method_not_allowed', `${shown} is not allowed; Stream POSTs callbacks`), { path: route.path, method: shown });
    }
    const contentType = headerValue(headers, 'content-type');
    const codec = route.family.codecFor(contentType);
    if (!codec) {
      return refuse(route.family, new HookError('unsupported_media_type', `content type ${JSON.stringify(clip(contentType) ?? '')} is not served here`), { path: route.path });
    }
    const encoding = headerValue(headers, 'content-encoding');
    if (encoding !== undefined && encoding !== gzipEncoding && encoding !== 'identity' && encoding.trim().toLowerCase() !== gzipEncoding) {
      return refuse(route.family, new HookError('unsupported_media_type', `content encoding ${JSON.stringify(clip(encoding))} is not supported (gzip is)`), { path: route.path });
    }
    // Shed before the body is read or decoded: the refusal costs less than the work it spares.
    const overloaded = shedder.admit();
    if (overloaded) {
      metrics.shed();
      return refuse(route.family, overloaded, { path: route.path, inFlight: shedder.inFlight, limit: shedder.limit, eventLoopDelayMs: Math.round(shedder.eventLoopDelayMs) });
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

  function verifyAndAnswer(match: PreflightMatch, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse> {
    const verifying = readVerifiedBody(request, verifyOptions[(match.route.verify ? 2 : 0) + (match.codec.transport === 'twirp-protobuf' ? 1 : 0)]!);
    if (verifying instanceof Promise) return verifying.then((verified) => answer(match, request, verified));
    return answer(match, request, verifying);
  }

  function answer(match: PreflightMatch, request: NeutralRequest, verified: VerifiedBody | HookError): NeutralResponse | Promise<NeutralResponse> {
    const { route, codec } = match;
    if (verified instanceof HookError) {
      return refuse(codec, verified, { path: route.path, webhookId: clip(headerValue(request.headers, 'x-webhook-id')) });
    }
    const payload = codec.decode(verified.body, limits);
    if (payload instanceof HookError) {
      return refuse(codec, payload, { path: route.path, webhookId: clip(headerValue(request.headers, 'x-webhook-id')), apiKey: verified.app.apiKey });
    }
    const idProblem = messageIdProblem(payload.message.id);
    if (idProblem !== undefined) {
      return refuse(codec, new HookError('invalid_payload', idProblem), {
        path: route.path,
        webhookId: clip(headerValue(request.headers, 'x-webhook-id')),
        apiKey: verified.app.apiKey,
        messageId: clip(payload.message.id),
      });
    }
    const event = createEvent(route.method, payload, verified.app.apiKey, request, codec.transport);
    try {
      if (route.method === 'DeletedPendingMessage') {
        return dispatcher.deleted(event, request.receivedAt).then(
          () => {
            finished(event, request.receivedAt, 'deleted');
            return codec.encodeDeleted();
          },
          (error: unknown) => dispatchFailed(codec, event, error),
        );
      }
      const result = dispatcher.passOn(event, request.receivedAt);
      if (!(result instanceof Promise)) return encodeResult(codec, result, event, request.receivedAt);
      return result.then(
        (settled) => encodeResult(codec, settled, event, request.receivedAt),
        (error: unknown) => dispatchFailed(codec, event, error),
      );
    } catch (error) {
      return dispatchFailed(codec, event, error);
    }
  }

  /** A dispatched callback's answer: its latency teaches the shedder's limit, and is counted. */
  function finished(event: PendingMessageEvent, receivedAt: number, outcome: CallbackOutcome): void {
    const ms = performance.now() - receivedAt;
    shedder.finished(ms);
    if (metrics !== noMetrics) metrics.callback(event.transport, event.method, outcome, ms / 1000, timeoutSeconds - ms / 1000);
  }

  function encodeResult(codec: WireCodec, result: PassOnResult, event: PendingMessageEvent, receivedAt: number): NeutralResponse {
    finished(event, receivedAt, result.kind === 'decided' ? result.outcome.action : result.kind);
    if (result.kind === 'decided') return codec.encodePassOn(result.outcome);
    if (result.kind === 'accepted') return codec.encodeAccepted();
    return codec.encodeError(decisionNotApplied(result.outcome.action));
  }

  function dispatchFailed(codec: WireCodec, event: PendingMessageEvent, error: unknown): NeutralResponse {
    finished(event, event.receivedAt, 'error');
    logger.error({ err: error, webhookId: event.webhookId, messageId: event.message.id }, 'dispatch failed');
    return codec.encodeError(new HookError('internal', 'internal error'));
  }

  function notFound(path: string, method: string): NeutralResponse {
    // A known path reached with a method the adapter does not route (PROPFIND, QUERY, …).
    const route = byPath.get(path);
    const shownMethod = clip(method);
    if (route) return refuse(route.family, new HookError('method_not_allowed', `${shownMethod} is not allowed; Stream POSTs callbacks`), { path, method: shownMethod });
    const shownPath = clip(path);
    return refuse(options.familyForUnknownPath(path), new HookError('not_found', `no callback is served at ${shownPath}`), { path: shownPath, method: shownMethod });
  }

  return {
    routes: options.routes,
    routeFor: (path) => byPath.get(path),
    servesConnect: (path) => connectPaths.has(path),
    preflight,
    process,
    notFound,
    fail(route, path, error) {
      return refuse(route?.family ?? options.familyForUnknownPath(path), error, { path: clip(path) });
    },
    handle(request) {
      const route = byPath.get(request.path);
      if (!route && connectPaths.has(request.path)) return options.connect!.handle(request);
      if (!route) return notFound(request.path, request.method);
      const match = preflight(route, request.method, request.headers);
      if (!('codec' in match)) return match;
      return process(match, request);
    },
  };
}
