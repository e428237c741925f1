import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { CallbackRoute, PreflightMatch } from '../pipeline/callback-pipeline.js';
import { HookError } from '../core/hook-error.js';
import { arrivalTime } from '../core/loop-clock.js';
import { RequestScope } from '../core/request-scope.js';
import { watchClientGone } from './client-gone.js';
import type { NeutralResponse } from '../core/neutral.js';
import type { EventPathMatch } from '../event-webhooks/event-path.js';
import type { PendingHooks } from '../pending-hooks.js';
import { defaultLinger, lingerOnClose } from './linger.js';
import { registerOpsRoutes } from './ops-routes.js';
import { readBody } from './read-body.js';

const shuttingDown = new HookError('shutting_down', 'the server is shutting down; retry');

export interface PendingHooksPluginOptions {
  hooks: PendingHooks;
  /**
   * Answer unknown paths under the REST mount / Twirp prefix with the contract's JSON 404 /
   * `bad_route`. Default true; has no effect for an empty mount (the host app keeps its own 404).
   */
  catchUnknownPaths?: boolean;
  /** Also serve `GET /metrics` (under the plugin's prefix; needs `createPendingHooks({ metrics: true })`). Default false. */
  metrics?: boolean;
  /** Also serve `GET /healthz` and `GET /readyz` (under the prefix; 503 once the host app closes). Default false. */
  health?: boolean;
}

const everyMethod: HTTPMethods[] = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];

interface CallbackState {
  match: PreflightMatch;
  receivedAt: number;
}

interface EventState {
  event: EventPathMatch;
  receivedAt: number;
}

/** Set by the plugin's preClose hook: from then on every answer closes its connection. */
interface ClosingState {
  closing: boolean;
}

function send(reply: FastifyReply, response: NeutralResponse, state?: ClosingState): FastifyReply {
  const { body, headers } = response;
  if (headers.connection === 'close' || state?.closing) {
    reply.header('connection', 'close');
    lingerOnClose(reply.request.raw, defaultLinger);
  }
  // fastify appends "; charset=utf-8" to string bodies whose type names no charset; Twirp's
  // contract says exactly `application/json`, so such bodies go out as bytes.
  const bytes = typeof body === 'string' && !headers['content-type']?.includes('charset') ? Buffer.from(body) : body;
  return reply.code(response.status).headers(headers).send(bytes);
}

/**
 * Mounts the callback routes in a fastify app. Encapsulated on purpose (no `fastify-plugin`):
 * its raw-body parser, hooks and error handler stay inside it, so the host app's JSON routes,
 * parsers and error handler are untouched. Fastify's `prefix` register option works too.
 *
 * ```ts
 * await app.register(pendingHooksPlugin, { hooks });
 * ```
 */
export async function pendingHooksPlugin(app: FastifyInstance, options: PendingHooksPluginOptions): Promise<void> {
  const { hooks } = options;
  const { pipeline } = hooks;
  const { bodyLimit } = hooks.options;
  const closingState: ClosingState = { closing: false };
  // Runs when the host app closes: answers still in flight then close their connections, so
  // kept-alive sockets do not hold the app's close() until they time out.
  app.addHook('preClose', async () => {
    closingState.closing = true;
  });

  registerOpsRoutes(app, hooks, { metrics: options.metrics ?? false, health: options.health ?? false, closing: () => closingState.closing });

  app.decorateRequest('pendingHooks', null);
  app.removeAllContentTypeParsers();
  // Signatures are over the raw bytes: keep the body as a Buffer, never parse it here. Read with
  // the node listener's bounded reader (one buffer, tiny-chunk floods refused), not fastify's
  // buffer parser, which keeps every chunk as an object until the end.
  app.addContentTypeParser('*', (_request, payload, done) => {
    readBody(payload, bodyLimit, (body) => (body instanceof HookError ? done(body, undefined) : done(null, body)));
  });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const config = request.routeOptions.config as { callbackRoute?: CallbackRoute; eventRoute?: boolean };
    const route = config.callbackRoute;
    let hookError: HookError;
    if (error instanceof HookError) hookError = error;
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') hookError = new HookError('payload_too_large', `body exceeds ${bodyLimit} bytes`);
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      hookError = new HookError(route?.family.name === 'twirp' ? 'malformed_protobuf' : 'malformed_json', 'request body could not be read', error.message);
    } else {
      request.log.error({ err: error }, 'pending-hooks route failed');
      hookError = new HookError('internal', 'internal error');
    }
    if (config.eventRoute) return send(reply, hooks.eventRoute.fail(request.url.split('?')[0]!, hookError), closingState);
    return send(reply, pipeline.fail(route, request.url, hookError, request.headers), closingState);
  });

  for (const route of pipeline.routes) {
    app.route({
      method: everyMethod,
      url: route.path,
      exposeHeadRoute: false,
      config: { callbackRoute: route },
      onRequest(request: FastifyRequest, reply: FastifyReply, done: () => void) {
        const receivedAt = arrivalTime();
        if (closingState.closing) {
          void send(reply, pipeline.fail(route, route.path, shuttingDown, request.headers), closingState);
          return;
        }
        const match = pipeline.preflight(route, request.method, request.headers);
        if (!('codec' in match)) {
          void send(reply, match, closingState);
          return;
        }
        (request as unknown as { pendingHooks: CallbackState }).pendingHooks = { match, receivedAt };
        done();
      },
      async handler(request, reply) {
        const state = (request as unknown as { pendingHooks: CallbackState }).pendingHooks;
        const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
        const scope = new RequestScope();
        const answer = pipeline.process(state.match, {
          method: request.method,
          path: route.path,
          headers: request.headers,
          body,
          receivedAt: state.receivedAt,
          scope,
        });
        if (answer instanceof Promise) watchClientGone(reply.raw, scope);
        return send(reply, await answer, closingState);
      },
    });
  }

  // Event webhooks: `{path}` and the templated `{path}/{appId}/{eventType}`. While no event
  // handler is registered (or the segments are not an app id and an event type), the app's own
  // 404 answers.
  const events = hooks.eventRoute;
  for (const url of [events.path, `${events.path === '/' ? '' : events.path}/:appId/:eventType`]) {
    app.route({
      method: everyMethod,
      url,
      exposeHeadRoute: false,
      config: { eventRoute: true },
      onRequest(request: FastifyRequest, reply: FastifyReply, done: () => void) {
        const receivedAt = arrivalTime();
        const match = events.match(request.url.split('?')[0]!.slice(app.prefix.length));
        if (!match) {
          reply.callNotFound();
          return;
        }
        if (closingState.closing) {
          void send(reply, events.fail(match.path, shuttingDown), closingState);
          return;
        }
        const refused = events.preflight(request.method, request.headers);
        if (refused) {
          void send(reply, refused, closingState);
          return;
        }
        (request as unknown as { pendingHooks: EventState }).pendingHooks = { event: match, receivedAt };
        done();
      },
      async handler(request, reply) {
        const state = (request as unknown as { pendingHooks: EventState }).pendingHooks;
        const response = await events.process(state.event, {
          method: request.method,
          path: state.event.path,
          headers: request.headers,
          body: (request.body as Buffer | undefined) ?? Buffer.alloc(0),
          receivedAt: state.receivedAt,
        });
        return send(reply, response, closingState);
      },
    });
  }

  if (options.catchUnknownPaths ?? true) {
    const prefixes = new Set([hooks.options.restMount, hooks.options.twirpPrefix].filter((p): p is string => !!p));
    for (const prefix of prefixes) {
      app.route({
        method: everyMethod,
        url: `${prefix}/*`,
        exposeHeadRoute: false,
        // Judge the path without fastify's register prefix, as the pipeline knows it.
        handler: (request, reply) => send(reply, pipeline.notFound(request.url.split('?')[0]!.slice(app.prefix.length), request.method), closingState),
      });
    }
  }
}
