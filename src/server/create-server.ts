import closeWithGrace from 'close-with-grace';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { PendingHooks } from '../pending-hooks.js';
import { defaultLinger, lingerOnClose } from './linger.js';
import { registerOpsRoutes } from './ops-routes.js';
import { pendingHooksPlugin } from './fastify-plugin.js';
import { createNodeListener, type NodeRequestListener } from './node-listener.js';

export interface CreateServerOptions {
  /** Extra fastify options (the logger is the hooks' pino logger). */
  fastify?: Omit<FastifyHttpOptions<Server>, 'logger' | 'loggerInstance'>;
  /** Close gracefully on SIGINT/SIGTERM (default false: a library should not own signals; the CLI turns it on). */
  handleSignals?: boolean;
  /** Longest time a request may take to arrive, headers and body (answered 408 after). Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Serve callback paths straight from node's request listener (`createNodeListener`), in front
   * of fastify: the same pipeline and answers, without fastify's per-request routing, hooks and
   * reply objects (the largest cost left on the hot path). Every other path (and `app.inject`)
   * goes through fastify as usual. Default true; false routes callbacks through fastify too, so
   * hooks you add to this app (`onRequest`, `onResponse`…) also see callbacks. Not used with
   * `http2` or a `serverFactory` of your own.
   */
  fastPath?: boolean;
  /**
   * Most connections open at once; further ones are closed as they arrive. Each open socket
   * holds a file descriptor, which calls to Stream's API need too. Default: half the process's
   * open-file limit, at most 10,000 (an idle connection costs ~3 KB and no CPU once accepted).
   */
  maxConnections?: number;
  /**
   * How long a new connection may stay silent before its first request, in ms (node's own
   * header timeout only starts with the first byte). Default 10 s.
   */
  firstRequestTimeoutMs?: number;
  /** `GET /metrics`. Default: on when the hooks count metrics (`createPendingHooks({ metrics: true })`). */
  metrics?: boolean;
  /**
   * `GET /healthz` and `GET /readyz` (503 from the moment closing begins). Default false (your
   * app may have its own); `pending-hooks serve` turns them on.
   */
  health?: boolean;
}

/**
 * See `CreateServerOptions.maxConnections`: half the soft open-file limit (the other half stays
 * for the Stream API pool, logs and the rest of the app), at most 10,000, at least 64. Where the
 * limit cannot be read (not Linux), 10,000.
 */
export function defaultMaxConnections(): number {
  let limit: number | undefined;
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (match) limit = Number(match[1]);
  } catch {
    // not Linux
  }
  return limit === undefined ? 10_000 : Math.max(64, Math.min(10_000, Math.floor(limit / 2)));
}

/**
 * A standalone fastify server serving the hooks: every path answers in the contract's format
 * (unknown paths 404 / `bad_route`). Call `.listen({ port, host })` on it; `close()` waits for
 * decisions in progress.
 */
export async function createServer(hooks: PendingHooks, options: CreateServerOptions = {}): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeoutMs ?? 10_000;
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  const firstRequestTimeoutMs = options.firstRequestTimeoutMs ?? requestTimeout;
  const custom = options.fastify as (FastifyHttpOptions<Server> & { http2?: boolean; https?: unknown; serverFactory?: unknown }) | undefined;
  const fastPath = (options.fastPath ?? true) && !custom?.http2 && !custom?.serverFactory;
  // Once closing, callbacks are answered 503 in the contract's format and every answer closes its
  // connection, so keep-alive clients (Stream keeps its connections busy) move on and close() can finish.
  let closing = false;
  const app: FastifyInstance = Fastify({
    loggerInstance: hooks.logger as FastifyBaseLogger,
    // One structured line per callback comes from the dispatcher; fastify's per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger (fastify would build one for every callback): the dispatcher
    // logs with the webhook id and message id itself.
    childLoggerFactory: (logger) => logger,
    // Stream keeps connections alive between callbacks; idle sockets may live a while.
    keepAliveTimeout: 65_000,
    bodyLimit: hooks.options.bodyLimit,
    // Stream gives up on a callback after 6 s: a request still arriving later is a stalled or
    // hostile client. Node reads these at construction (fastify's own requestTimeout is set too
    // late to take effect) and checks them every connectionsCheckingInterval (30 s by default).
    requestTimeout,
    // Callbacks arriving while closing are answered by the plugin, in the contract's format.
    return503OnClosing: false,
    http: { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: 1000 },
    ...options.fastify,
    ...(fastPath ? { serverFactory: (fastifyListener, resolved) => createFastPathServer(hooks, fastifyListener, resolved, () => closing) } : {}),
  } satisfies FastifyHttpOptions<Server>);
  const answerNotFound = (request: FastifyRequest, reply: FastifyReply) => {
    const response = hooks.pipeline.notFound(request.url.split('?')[0]!, request.method);
    if (response.headers.connection === 'close') lingerOnClose(request.raw, defaultLinger);
    return reply.code(response.status).headers(response.headers).send(response.body);
  };
  // Outside the plugin only unknown routes remain: never parse their bodies (a broken or huge
  // body must still get the contract's 404 / bad_route), and answer any error the same way.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    // Drain (up to the body limit) before answering, so the client is never left mid-upload.
    let size = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      payload.off('data', count);
      done(null);
    };
    const count = (chunk: Buffer) => {
      size += chunk.length;
      if (size > hooks.options.bodyLimit) finish();
    };
    payload.on('data', count);
    payload.once('end', finish);
    payload.once('error', finish);
  });
  app.setErrorHandler((_error, request, reply) => answerNotFound(request, reply));
  await app.register(pendingHooksPlugin, { hooks, catchUnknownPaths: false });
  app.setNotFoundHandler(answerNotFound);
  app.addHook('preClose', async () => {
    closing = true;
  });
  registerOpsRoutes(app, hooks, { metrics: options.metrics ?? hooks.metrics.registry !== undefined, health: options.health ?? false, closing: () => closing });
  guardConnections(app.server, maxConnections, firstRequestTimeoutMs);
  app.addHook('onClose', async () => {
    await hooks.close();
  });
  if (options.handleSignals) {
    const closeListeners = closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
      if (err) hooks.logger.error({ err }, 'closing after an error');
      else hooks.logger.info({ signal }, 'closing: waiting for decisions in progress');
      await app.close();
    });
    app.addHook('onClose', async () => closeListeners.uninstall());
  }
  return app;
}

type ResolvedFastifyOptions = FastifyServerOptions<Server> & { http?: ServerOptions; https?: HttpsServerOptions | true };

/** What fastify does for an HTTP/1 server (lib/server.js), with callbacks answered before fastify. */
function createFastPathServer(hooks: PendingHooks, fastifyListener: NodeRequestListener, options: ResolvedFastifyOptions, closing: () => boolean): Server {
  const listener = createNodeListener(hooks, { otherwise: fastifyListener, closing });
  const https = options.https === true ? {} : options.https;
  const server = https ? createHttpsServer({ ...options.http, ...https }, listener) : createHttpServer(options.http ?? {}, listener);
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
  if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
  if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
  return server;
}

const awaitingFirstRequest = Symbol('pending-hooks.awaitingFirstRequest');

/**
 * Bounds what idle clients can hold: at most `maxConnections` sockets (node closes the ones
 * over it), and a connection that sends nothing is closed after `firstRequestTimeoutMs`. Once a
 * request arrives, node's own timeouts govern the socket (request, headers, keep-alive).
 */
function guardConnections(server: Server, maxConnections: number, firstRequestTimeoutMs: number): void {
  server.maxConnections = maxConnections;
  server.on('connection', (socket: Socket & { [awaitingFirstRequest]?: boolean }) => {
    socket[awaitingFirstRequest] = true;
    // No listener of ours: node's http server destroys a socket whose timeout nobody handles.
    socket.setTimeout(firstRequestTimeoutMs);
  });
  server.prependListener('request', (request: IncomingMessage) => {
    const socket = request.socket as Socket & { [awaitingFirstRequest]?: boolean };
    if (socket[awaitingFirstRequest]) {
      socket[awaitingFirstRequest] = false;
      socket.setTimeout(0);
    }
  });
}
