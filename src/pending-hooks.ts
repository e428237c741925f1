import type { Logger, LoggerOptions } from 'pino';
import { createDefaultLogger } from './observe/default-logger.js';
import { createCallbackPipeline, type CallbackPipeline, type CallbackRoute } from './pipeline/callback-pipeline.js';
import { createLoadShedder, defaultMaxInFlight, type LoadSheddingOptions } from './core/load-shedder.js';
import { createRateLimitedLog } from './core/log-safe.js';
import { createMetrics, noMetrics, type HookMetrics, type MetricsOptions } from './observe/metrics.js';
import type { NeutralRequest, NeutralResponse } from './core/neutral.js';
import type { ApplyRetryOptions } from './decision/apply-decision.js';
import type { DecisionAction } from './decision/decision.js';
import { isDecisionAction } from './decision/decision.js';
import type { DedupeStore } from './decision/dedupe-store.js';
import { createMemoryDedupeStore, type MemoryDedupeStoreOptions } from './decision/memory-dedupe-store.js';
import { createDispatcher, type AnswerTiming, type Dispatcher } from './dispatch/dispatcher.js';
import type { DeletedHandler, PassOnHandler, PendingHandlers } from './dispatch/handler.js';
import type { PendingMessageMethod } from './event/pending-message-event.js';
import { createAppKeyring, type AppCredentials } from './signature/app-keyring.js';
import { createStreamApiClient } from './stream-api/stream-api-client.js';
import type { StreamApi } from './stream-api/stream-api.js';
import { fromStreamChat, type StreamChatLike } from './stream-api/stream-chat-adapter.js';
import { createRestFamily } from './transports/rest/index.js';
import { createTwirpFamily, twirpServiceName } from './transports/twirp/index.js';
import { connectRoutePath, createConnectFamily, type ConnectTransportOptions } from './transports/connect/index.js';
import { createTransportForPath } from './transports/transport-for-path.js';
import type { HookError } from './core/hook-error.js';
import { createEventRegistry, type EventWebhooks } from './event-webhooks/event-registry.js';
import { createEventRoute, type EventRoute, type EventRouteOptions } from './event-webhooks/event-route.js';

/** Where decisions go: Stream's HTTP API, your own `StreamApi`, an official `StreamChat` client, or one per app. */
export type ApiOption =
  /**
   * Pending-hooks' own client (undici). `connections`: sockets to Stream per app, at most.
   * Default: the in-flight bound (`shedding.maxInFlight`, 1000), so every callback in flight can
   * have its API call in flight: a smaller pool queues calls behind a slow or hung API and
   * answers late (measured: 200 callbacks against a hung API, 32 connections → answers up to
   * 640 ms on a 500 ms budget; sized to the bound → 514 ms).
   */
  | { baseUrl?: string; connections?: number }
  | StreamApi
  | StreamChatLike
  | ((apiKey: string) => StreamApi | undefined);

export interface PendingHooksOptions {
  /** The Stream apps served (several secrets each for rotation). Or use `apiKey` + `apiSecret` for one app. */
  apps?: AppCredentials[];
  apiKey?: string;
  /** One secret, or several during a rotation (the first signs API calls). */
  apiSecret?: string | string[];
  /** The hook's `timeout_ms`: a decision is applied within this many ms of arrival. Default 500. */
  timeoutMs?: number;
  /** Applied when the handler misses its deadline or throws. Default `keep_pending`. */
  fallback?: DecisionAction;
  /** `auto` (default): inline when `timeoutMs <= answerWithinMs`, else ack-first. */
  answer?: 'auto' | AnswerTiming;
  /** Longest budget answered inline; Stream's request timeout is 6 s. Default 5000. */
  answerWithinMs?: number;
  /** Time kept back from the handler's deadline to apply the decision. Default 100. */
  applyReserveMs?: number;
  /** Largest body accepted, raw and inflated, in bytes (inclusive). Default 1 MiB. */
  bodyLimit?: number;
  /** Deepest JSON nesting accepted (the outermost value is depth 1). Default 64. */
  maxJsonDepth?: number;
  /**
   * Check `X-Signature` (default true). `false`, or `{ twirp: false }` for one transport, is for
   * local development only and logs a loud warning.
   */
  verifySignatures?: boolean | { rest?: boolean; twirp?: boolean };
  /** Where decisions are applied. Omitted: dry run, decisions are only answered and logged. */
  api?: ApiOption;
  /**
   * Retry dedupe: a store, or options for the in-process one. Several instances share
   * decisions (and durable ack-first) through `createRedisDedupeStore({ url })`.
   */
  dedupe?: DedupeStore | MemoryDedupeStoreOptions;
  /** Backoff between API retries. Default 25 ms doubling, at most 250 ms. */
  retry?: Partial<ApplyRetryOptions>;
  /** A pino logger or pino options. Default: pino at `LOG_LEVEL` or info. */
  logger?: Logger | LoggerOptions;
  /** REST routes are `{mount}/PassOnPendingMessage` etc. Default `''`. */
  rest?: { mount?: string };
  /** Twirp routes are `{prefix}/pendingmessage.v1.PendingMessageService/{Method}`; `false` turns Twirp off. Default prefix `/twirp`. */
  twirp?: false | { prefix?: string };
  /**
   * Also serve Connect and gRPC-Web at `{prefix}/pendingmessage.v1.PendingMessageService/{Method}`
   * (default prefix `/connect`). Off by default: Stream does not send these. The same
   * `X-Signature` check applies unless you supply `authenticate`.
   */
  connect?: false | ConnectTransportOptions;
  /**
   * Overload shedding: callbacks over the in-flight limit or arriving while the event loop is
   * more than `maxEventLoopDelayMs` late (default 150) are answered 503 `overloaded` with
   * `Retry-After` (Twirp `unavailable`) at once, so Stream retries them, instead of being
   * queued to miss their budget. The limit is learned from latency (mean answer time held near
   * half of `timeoutMs`), at most `maxInFlight` (default 1000); `adaptive: false` makes it
   * that fixed bound. `false` turns shedding off.
   */
  shedding?: false | LoadSheddingOptions;
  /**
   * Prometheus metrics (prom-client): `true` or `{ registry?, defaultMetrics? }`. Off by default;
   * `pending-hooks serve` turns them on and serves them at `GET /metrics`. See the README's
   * "Metrics and health" for the list.
   */
  metrics?: boolean | MetricsOptions;
  /**
   * Event webhooks (register handlers on `hooks.events`): where they are served and when they
   * are answered. Served once a handler is registered, with the same signature check, app
   * selection, retry dedupe, logs and metrics as the callbacks. See `EventRouteOptions`.
   */
  events?: EventRouteOptions;
}

/** The settled configuration, as used. */
export interface ResolvedPendingHooksOptions {
  readonly timeoutMs: number;
  readonly fallback: DecisionAction;
  readonly timing: AnswerTiming;
  readonly answerWithinMs: number;
  readonly applyReserveMs: number;
  readonly bodyLimit: number;
  readonly maxJsonDepth: number;
  readonly restMount: string;
  readonly twirpPrefix: string | undefined;
  readonly connectPrefix: string | undefined;
  readonly verify: { readonly rest: boolean; readonly twirp: boolean };
  readonly dryRun: boolean;
  readonly apiKeys: readonly string[];
}

/** Connect and gRPC-Web, when turned on: their paths, served by the one pipeline. */
export interface ConnectTransport {
  /** Full paths served (prefix included). */
  readonly paths: readonly string[];
  /** The pipeline's `handle`: synchronous when every stage is (a Connect unary call, a synchronous handler and store, no gzip, no async `authenticate`). */
  handle(request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** An error met by an adapter (such as a too-large body), in the caller's protocol. */
  fail(contentType: string | undefined, error: HookError): NeutralResponse;
}

/** A configured set of pending-message handlers, servable by any adapter. */
export interface PendingHooks {
  /** Registers the handler for one of Stream's callbacks (one per method; a second replaces the first). */
  on<M extends PendingMessageMethod>(method: M, handler: PendingHandlers[M]): PendingHooks;
  readonly options: ResolvedPendingHooksOptions;
  readonly logger: Logger;
  /** The framework-neutral request pipeline the adapters drive. */
  readonly pipeline: CallbackPipeline;
  /** The Connect / gRPC-Web routes, when turned on (served by `pipeline` like every route). */
  readonly connect: ConnectTransport | undefined;
  /** Event webhook handlers by type: `hooks.events.on('message.new', fn)`; also `dispatch` for SQS and SNS deliveries. */
  readonly events: EventWebhooks;
  /** The event webhook routes the adapters drive. */
  readonly eventRoute: EventRoute;
  /**
   * What readiness depends on, each `ok` or why not: `api` (`closed` once closing), `dedupe`
   * (`unreachable` while a shared store reports itself unhealthy; the local store answers then).
   */
  readiness(): Record<string, string>;
  /** The metrics callbacks are counted in (`registry` undefined when metrics are off). */
  readonly metrics: HookMetrics;
  /** Serves one neutral request (for custom adapters and tests). */
  handle(request: NeutralRequest): Promise<NeutralResponse>;
  /** Waits for decisions in progress (aborting handlers after `graceMs`, default 10 s), then closes API pools. */
  close(graceMs?: number): Promise<void>;
}

export const defaultTimeoutMs = 500;
export const defaultBodyLimit = 1024 * 1024;
/** Refused requests logged per second at most (bursts of as many); the rest are counted. */
const refusalLinesPerSecond = 20;

function normalizePrefix(prefix: string, what: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed !== '' && !trimmed.startsWith('/')) throw new TypeError(`pending-hooks: ${what} must start with "/" (got ${prefix})`);
  return trimmed;
}

function positive(value: number | undefined, fallbackValue: number, what: string): number {
  const result = value ?? fallbackValue;
  if (!Number.isFinite(result) || result <= 0) throw new RangeError(`pending-hooks: ${what} must be a positive number (got ${value})`);
  return result;
}

function isStreamApi(api: object): api is StreamApi {
  return typeof (api as StreamApi).commitMessage === 'function' && typeof (api as StreamApi).hardDeleteMessage === 'function';
}

/**
 * Creates the handlers' home: register with `.on('PassOnPendingMessage', fn)`, then serve with
 * `createServer(hooks)`, the fastify plugin, or `createNodeListener(hooks)`.
 */
export function createPendingHooks(options: PendingHooksOptions = {}): PendingHooks {
  const ownLog = options.logger && typeof (options.logger as Logger).child === 'function' ? undefined : createDefaultLogger(options.logger as LoggerOptions | undefined);
  const logger: Logger = ownLog ? ownLog.logger : (options.logger as Logger);

  const apps: AppCredentials[] = [...(options.apps ?? [])];
  if (options.apiKey !== undefined || options.apiSecret !== undefined) {
    if (!options.apiKey || !options.apiSecret) throw new TypeError('pending-hooks: apiKey and apiSecret go together');
    apps.push({ apiKey: options.apiKey, secrets: typeof options.apiSecret === 'string' ? [options.apiSecret] : options.apiSecret });
  }
  const keyring = createAppKeyring(apps);

  const verifyOption = options.verifySignatures ?? true;
  const verify =
    typeof verifyOption === 'boolean'
      ? { rest: verifyOption, twirp: verifyOption }
      : { rest: verifyOption.rest ?? true, twirp: verifyOption.twirp ?? true };
  if (!verify.rest || !verify.twirp) {
    logger.warn(
      { verify },
      '!!! SIGNATURE CHECKS ARE OFF: anyone who can reach this server can commit or delete messages. Use this for local development only. !!!',
    );
  } else if (apps.length === 0) {
    throw new TypeError('pending-hooks: configure at least one app (apiKey + apiSecret, or apps) to verify signatures, or set verifySignatures: false for local development');
  }

  const timeoutMs = positive(options.timeoutMs, defaultTimeoutMs, 'timeoutMs');
  const answerWithinMs = positive(options.answerWithinMs, 5000, 'answerWithinMs');
  const fallback = options.fallback ?? 'keep_pending';
  if (!isDecisionAction(fallback)) throw new TypeError(`pending-hooks: fallback must be commit, delete or keep_pending (got ${fallback})`);
  const answer = options.answer ?? 'auto';
  if (answer !== 'auto' && answer !== 'inline' && answer !== 'ack-first') throw new TypeError(`pending-hooks: answer must be auto, inline or ack-first (got ${answer})`);
  const timing: AnswerTiming = answer === 'auto' ? (timeoutMs <= answerWithinMs ? 'inline' : 'ack-first') : answer;
  const restMount = normalizePrefix(options.rest?.mount ?? '', 'rest.mount');
  const twirpPrefix = options.twirp === false ? undefined : normalizePrefix(options.twirp?.prefix ?? '/twirp', 'twirp.prefix');

  const sheddingOptions = options.shedding === false ? { maxInFlight: Infinity, maxEventLoopDelayMs: Infinity } : options.shedding;
  const inFlightBound = sheddingOptions?.maxInFlight ?? defaultMaxInFlight;
  const apiFor = resolveApi(options.api, apps, Number.isFinite(inFlightBound) ? inFlightBound : defaultMaxInFlight);
  if (!options.api) logger.warn('no Stream API configured: DRY RUN, decisions are answered and logged but not applied');

  const handlers: { passOn: PassOnHandler | undefined; deleted: DeletedHandler | undefined } = { passOn: undefined, deleted: undefined };
  const dedupe: DedupeStore =
    options.dedupe && typeof (options.dedupe as DedupeStore).get === 'function'
      ? (options.dedupe as DedupeStore)
      : createMemoryDedupeStore(options.dedupe as MemoryDedupeStoreOptions | undefined);
  dedupe.useLogger?.(logger);

  const resolved: ResolvedPendingHooksOptions = {
    timeoutMs,
    fallback,
    timing,
    answerWithinMs,
    applyReserveMs: positive(options.applyReserveMs, 100, 'applyReserveMs'),
    bodyLimit: positive(options.bodyLimit, defaultBodyLimit, 'bodyLimit'),
    maxJsonDepth: positive(options.maxJsonDepth, 64, 'maxJsonDepth'),
    restMount,
    twirpPrefix,
    connectPrefix: options.connect ? normalizePrefix(options.connect.prefix ?? '/connect', 'connect.prefix') : undefined,
    verify,
    dryRun: !options.api,
    apiKeys: apps.map((app) => app.apiKey),
  };

  const metrics = options.metrics ? createMetrics(options.metrics === true ? {} : options.metrics) : noMetrics;
  const dispatcher: Dispatcher = createDispatcher({
    metrics,
    timeoutMs,
    fallback,
    timing,
    applyReserveMs: resolved.applyReserveMs,
    retry: { baseBackoffMs: options.retry?.baseBackoffMs ?? 25, maxBackoffMs: options.retry?.maxBackoffMs ?? 250 },
    dedupe,
    // One app and the in-process store: the webhook id alone is unique (a shared store keeps the app in the key).
    ...(apps.length === 1 && dedupe !== options.dedupe ? { dedupeKey: (_apiKey: string, webhookId: string) => webhookId } : {}),
    shareRecords: dedupe !== options.dedupe,
    logger,
    ...(ownLog?.infoLineLater ? { infoLineLater: ownLog.infoLineLater } : {}),
    apiFor: apiFor.get,
    handlers: () => handlers,
  });

  const rest = createRestFamily();
  const routes: CallbackRoute[] = [];
  for (const method of ['PassOnPendingMessage', 'DeletedPendingMessage'] as const) {
    routes.push({ path: `${restMount}/${method}`, family: rest, method, verify: verify.rest });
  }
  const twirp = twirpPrefix === undefined ? undefined : createTwirpFamily({ logger });
  if (twirp) {
    for (const method of ['PassOnPendingMessage', 'DeletedPendingMessage'] as const) {
      routes.push({ path: `${twirpPrefix}/${twirpServiceName}/${method}`, family: twirp, method, verify: verify.twirp });
    }
  }
  const paths = new Set<string>();
  for (const route of routes) {
    if (paths.has(route.path)) throw new TypeError(`pending-hooks: two routes at ${route.path}; give rest.mount and twirp.prefix different values`);
    paths.add(route.path);
  }

  // Connect and gRPC-Web (off by default): routes of their own, through the same pipeline.
  const connectOptions = options.connect || undefined;
  const connectRoutes: CallbackRoute[] = [];
  if (connectOptions) {
    const family = createConnectFamily({ grpcWeb: connectOptions.grpcWeb ?? true, bodyLimit: resolved.bodyLimit, maxJsonDepth: resolved.maxJsonDepth });
    for (const method of ['PassOnPendingMessage', 'DeletedPendingMessage'] as const) {
      const path = connectRoutePath(resolved.connectPrefix!, method);
      if (paths.has(path)) throw new TypeError(`pending-hooks: Connect and another transport both serve ${path}; give connect.prefix its own value`);
      connectRoutes.push({ path, family, method, verify: true, authenticate: connectOptions.authenticate });
    }
    routes.push(...connectRoutes);
  }

  // Refused requests are anyone's to send: their log lines are rate-limited (and counted when dropped).
  const refusals = createRateLimitedLog(logger, refusalLinesPerSecond);
  const shedder = createLoadShedder(sheddingOptions, timeoutMs);
  metrics.watchInFlight(shedder);
  const pipeline = createCallbackPipeline({
    shedder,
    metrics,
    timeoutMs,
    routes,
    transportFor: createTransportForPath({ routes, rest, twirp: twirp && { family: twirp, prefix: twirpPrefix! } }),
    keyring,
    bodyLimit: resolved.bodyLimit,
    maxJsonDepth: resolved.maxJsonDepth,
    dispatcher,
    logger,
    refusals,
  });
  const connect: ConnectTransport | undefined = connectOptions && {
    paths: connectRoutes.map((route) => route.path),
    handle: pipeline.handle,
    fail: (contentType, error) => pipeline.fail(connectRoutes[0], connectRoutes[0]!.path, error, contentType === undefined ? {} : { 'content-type': contentType }),
  };

  const events = createEventRegistry(logger, metrics);
  const eventRoute = createEventRoute(
    { ...options.events, path: normalizePrefix(options.events?.path ?? `${restMount}/events`, 'events.path') },
    { registry: events, keyring, verify: verify.rest, bodyLimit: resolved.bodyLimit, maxJsonDepth: resolved.maxJsonDepth, dedupe, logger, refusals, metrics },
  );
  if (paths.has(eventRoute.path)) throw new TypeError(`pending-hooks: events.path ${eventRoute.path} is a callback route; give it its own value`);

  let closed = false;
  const hooks: PendingHooks = {
    on(method, handler) {
      if (typeof handler !== 'function') throw new TypeError(`pending-hooks: the ${method} handler must be a function`);
      if (method === 'PassOnPendingMessage') handlers.passOn = handler as PassOnHandler;
      else if (method === 'DeletedPendingMessage') handlers.deleted = handler as DeletedHandler;
      else throw new TypeError(`pending-hooks: unknown callback ${String(method)}`);
      return hooks;
    },
    options: resolved,
    logger,
    pipeline,
    connect,
    events,
    eventRoute,
    metrics,
    readiness() {
      const healthy = (dedupe as { healthy?: boolean }).healthy;
      return { api: closed ? 'closed' : 'ok', dedupe: healthy === false ? 'unreachable' : 'ok' };
    },
    handle: async (request) => pipeline.handle(request),
    async close(graceMs = 10_000) {
      closed = true;
      await Promise.all([dispatcher.close(graceMs), events.close(graceMs)]);
      await apiFor.close();
      await dedupe.close?.();
      ownLog?.flush();
    },
  };
  return hooks;
}

function resolveApi(
  option: ApiOption | undefined,
  apps: readonly AppCredentials[],
  defaultConnections: number,
): { get(apiKey: string): StreamApi | undefined; close(): Promise<void> } {
  if (!option) return { get: () => undefined, close: async () => {} };
  if (typeof option === 'function') return { get: option, close: async () => {} };
  if (isStreamApi(option)) return { get: () => option, close: () => option.close() };
  if (typeof (option as StreamChatLike).commitMessage === 'function') {
    const adapted = fromStreamChat(option as StreamChatLike);
    return { get: () => adapted, close: () => adapted.close() };
  }
  const { baseUrl, connections } = option as { baseUrl?: string; connections?: number };
  const clients = new Map<string, StreamApi>();
  for (const app of apps) {
    clients.set(app.apiKey, createStreamApiClient({ apiKey: app.apiKey, secret: app.secrets[0]!, baseUrl, connections: connections ?? defaultConnections }));
  }
  return {
    get: (apiKey) => clients.get(apiKey),
    close: async () => {
      await Promise.all([...clients.values()].map((client) => client.close()));
    },
  };
}
