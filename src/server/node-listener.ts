import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PreflightMatch } from '../pipeline/callback-pipeline.js';
import { asBuffer } from '../core/as-buffer.js';
import { HookError } from '../core/hook-error.js';
import { clip } from '../core/log-safe.js';
import { arrivalTime } from '../core/loop-clock.js';
import type { NeutralHeaders, NeutralRequest, NeutralResponse } from '../core/neutral.js';
import { RequestScope } from '../core/request-scope.js';
import { watchClientGone } from './client-gone.js';
import type { EventPathMatch } from '../event-webhooks/event-path.js';
import type { PendingHooks } from '../pending-hooks.js';
import { defaultLinger, lingerOnClose, type LingerBounds } from './linger.js';
import { readBody } from './read-body.js';

export type NodeRequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface NodeListenerOptions {
  /**
   * Serves requests for paths that are not callback paths (health checks, an app's own routes).
   * Default: answered in the contract's format (REST 404 / Twirp `bad_route`).
   */
  otherwise?: NodeRequestListener;
  /**
   * True once the server is closing: callbacks that arrive then are answered 503
   * (`shutting_down` / Twirp `unavailable`) so Stream retries elsewhere, and every answer,
   * in flight ones included, goes out with `connection: close` so no socket outlives its answer.
   */
  closing?: () => boolean;
  /** After a refused request, how much of the rest of its body is read before the connection is cut. */
  linger?: LingerBounds;
}

/**
 * A plain `node:http` request listener serving the hooks, for apps without fastify:
 * `http.createServer(createNodeListener(hooks)).listen(3000)`. `createServer` puts it in front
 * of fastify too: callbacks skip fastify's routing, hooks and reply machinery (the hot path), and
 * every other path goes to fastify through `otherwise`.
 *
 * Route, method and content type are judged from the headers, before the body is read; a body
 * declared or found larger than the limit is answered 413 at once. A refused request's
 * connection is closed once its answer is written (the rest of its body discarded first, within
 * bounds, so the client reads the answer rather than a reset).
 */
export function createNodeListener(hooks: PendingHooks, options: NodeListenerOptions = {}): NodeRequestListener {
  const { pipeline } = hooks;
  const limit = hooks.options.bodyLimit;
  const otherwise = options.otherwise;
  const closing = options.closing ?? (() => false);
  const linger = options.linger ?? defaultLinger;

  function write(request: IncomingMessage, response: ServerResponse, answer: NeutralResponse): void {
    if (answer.headers.connection === 'close' || closing()) {
      response.shouldKeepAlive = false;
      lingerOnClose(request, linger);
    }
    writeAnswer(response, answer);
  }

  const events = hooks.eventRoute;
  const callbackStages: Stages<PreflightMatch> = {
    failed: 'pending-hooks listener failed',
    process: pipeline.process,
    fail: (match, error, headers) => pipeline.fail(match.route, match.route.path, error, headers),
  };
  const eventStages: Stages<EventPathMatch> = {
    failed: 'pending-hooks event route failed',
    process: events.process,
    fail: (match, error) => events.fail(match.path, error),
  };

  /** Reads the body, then runs the rest of the stages and writes the answer, whichever it is: the one settle block. */
  function receive<M>(stages: Stages<M>, match: M, path: string, request: IncomingMessage, response: ServerResponse, receivedAt: number): void {
    readBody(request, limit, (body) => {
      if (body instanceof HookError) {
        write(request, response, stages.fail(match, body, request.headers));
        return;
      }
      const scope = new RequestScope();
      const neutral = { method: request.method ?? 'GET', path, headers: request.headers, body, receivedAt, scope };
      let answer: NeutralResponse | Promise<NeutralResponse>;
      try {
        answer = stages.process(match, neutral);
      } catch (error) {
        answer = Promise.reject(error);
      }
      if (!(answer instanceof Promise)) write(request, response, answer);
      else {
        watchClientGone(response, scope);
        answer.then(
          (settled) => write(request, response, settled),
          (error: unknown) => {
            hooks.logger.error({ err: error, path: clip(path) }, stages.failed);
            write(request, response, stages.fail(match, new HookError('internal', 'internal error'), request.headers));
          },
        );
      }
    });
  }

  /** An event webhook: the same stages as a callback, through the event route. */
  function receiveEvent(request: IncomingMessage, response: ServerResponse, match: EventPathMatch, receivedAt: number): void {
    if (closing()) {
      write(request, response, events.fail(match.path, shuttingDown));
      return;
    }
    const refused = events.preflight(request.method ?? 'GET', request.headers);
    if (refused) write(request, response, refused);
    else receive(eventStages, match, match.path, request, response, receivedAt);
  }

  return (request, response) => {
    const receivedAt = arrivalTime();
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const served = pipeline.transportFor(path);
    if ('family' in served) {
      if (closing()) {
        write(request, response, pipeline.fail(served, path, shuttingDown, request.headers));
        return;
      }
      const match = pipeline.preflight(served, request.method ?? 'GET', request.headers);
      if ('codec' in match) receive(callbackStages, match, path, request, response, receivedAt);
      else write(request, response, match);
    } else {
      const event = events.match(path);
      if (event) receiveEvent(request, response, event, receivedAt);
      else if (otherwise) otherwise(request, response);
      else write(request, response, pipeline.notFound(path, request.method ?? 'GET'));
    }
  };
}

const shuttingDown = new HookError('shutting_down', 'the server is shutting down; retry');

/** What the listener runs once a body is read: the callback pipeline's or the event route's stages. */
interface Stages<M> {
  /** The log line when the stages fail unexpectedly. */
  readonly failed: string;
  process(match: M, request: NeutralRequest): NeutralResponse | Promise<NeutralResponse>;
  /** An error answer in the match's protocol. */
  fail(match: M, error: HookError, headers: NeutralHeaders): NeutralResponse;
}

/** An answer as node writes it fastest: raw headers with Content-Length, and the body as a string. */
interface PreparedAnswer {
  readonly headers: string[];
  /** Text as is; bytes as a latin1 string (one char per byte). */
  readonly body: string;
  readonly encoding: 'utf8' | 'latin1';
}

/** Shared (frozen) answers, the common ones, are prepared once. */
const prepared = new WeakMap<NeutralResponse, PreparedAnswer>();

/** Bodies up to this size are written as strings (larger bytes are written as they are). */
const stringBodyMaxBytes = 64 * 1024;

/*
 * Why strings: node sends the head and a string body as one chunk; a byte body goes out as a
 * second chunk of a writev, which cost ~10 µs more per Twirp answer under load.
 */
function prepare(answer: NeutralResponse): PreparedAnswer | undefined {
  const known = prepared.get(answer);
  if (known !== undefined) return known;
  const { body } = answer;
  if (typeof body !== 'string' && body.byteLength > stringBodyMaxBytes) return undefined;
  const headers: string[] = [];
  for (const name in answer.headers) headers.push(name, answer.headers[name]!);
  if (answer.headers['content-length'] === undefined) headers.push('content-length', String(Buffer.byteLength(body)));
  const result: PreparedAnswer =
    typeof body === 'string' ? { headers, body, encoding: 'utf8' } : { headers, body: asBuffer(body).toString('latin1'), encoding: 'latin1' };
  if (Object.isFrozen(answer)) prepared.set(answer, result);
  return result;
}

function writeAnswer(response: ServerResponse, answer: NeutralResponse): void {
  if (response.headersSent || response.destroyed) return;
  const ready = prepare(answer);
  if (ready === undefined) {
    response.statusCode = answer.status;
    for (const name in answer.headers) response.setHeader(name, answer.headers[name]!);
    response.end(answer.body);
    return;
  }
  response.writeHead(answer.status, ready.headers);
  response.end(ready.body, ready.encoding);
}
