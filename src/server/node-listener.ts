import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallbackRoute, PreflightMatch } from '../core/callback-pipeline.js';
import { asBuffer } from '../core/as-buffer.js';
import { HookError } from '../core/hook-error.js';
import type { NeutralResponse } from '../core/neutral.js';
import type { PendingHooks } from '../pending-hooks.js';

export type NodeRequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface NodeListenerOptions {
  /**
   * Serves requests for paths that are not callback paths (health checks, an app's own routes).
   * Default: answered in the contract's format (REST 404 / Twirp `bad_route`).
   */
  otherwise?: NodeRequestListener;
}

/**
 * A plain `node:http` request listener serving the hooks, for apps without fastify:
 * `http.createServer(createNodeListener(hooks)).listen(3000)`. `createServer` puts it in front
 * of fastify too: callbacks skip fastify's routing, hooks and reply machinery (the hot path), and
 * every other path goes to fastify through `otherwise`.
 *
 * Route, method and content type are judged from the headers, before the body is read; a body
 * declared or found larger than the limit is answered 413 at once and the connection closed.
 */
export function createNodeListener(hooks: PendingHooks, options: NodeListenerOptions = {}): NodeRequestListener {
  const { pipeline } = hooks;
  const limit = hooks.options.bodyLimit;
  const otherwise = options.otherwise;

  /** An error answer in the path's protocol (Connect paths have no route). */
  function failure(route: CallbackRoute | undefined, path: string, request: IncomingMessage, error: HookError): NeutralResponse {
    if (!route && hooks.connect && pipeline.servesConnect(path)) return hooks.connect.fail(request.headers['content-type'], error);
    return pipeline.fail(route, path, error);
  }

  /** Too large: answered now, and the connection closed after (the rest of the body is not read). */
  function tooLarge(route: CallbackRoute | undefined, path: string, request: IncomingMessage, response: ServerResponse): void {
    response.setHeader('connection', 'close');
    write(response, failure(route, path, request, new HookError('payload_too_large', `body exceeds ${limit} bytes`)));
  }

  function receive(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    route: CallbackRoute | undefined,
    match: PreflightMatch | undefined,
    receivedAt: number,
  ): void {
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      tooLarge(route, path, request, response);
      return;
    }
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        if (!response.headersSent) tooLarge(route, path, request, response);
        return;
      }
      if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    // No 'error' listener on purpose: node emits an aborted request's error only when one is
    // attached, and an aborted request needs no answer ('end' never comes; the socket is gone).
    request.on('end', () => {
      if (size > limit) return;
      const body = chunks ? Buffer.concat(chunks, size) : (first ?? empty);
      const neutral = { method: request.method ?? 'GET', path, headers: request.headers, body, receivedAt };
      let answer: NeutralResponse | Promise<NeutralResponse>;
      try {
        answer = match ? pipeline.process(match, neutral) : pipeline.handle(neutral);
      } catch (error) {
        answer = Promise.reject(error);
      }
      if (!(answer instanceof Promise)) write(response, answer);
      else {
        answer.then(
          (settled) => write(response, settled),
          (error: unknown) => {
            hooks.logger.error({ err: error, path }, 'pending-hooks listener failed');
            write(response, failure(route, path, request, new HookError('internal', 'internal error')));
          },
        );
      }
    });
  }

  return (request, response) => {
    const receivedAt = performance.now();
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const route = pipeline.routeFor(path);
    if (route) {
      const match = pipeline.preflight(route, request.method ?? 'GET', request.headers);
      if ('codec' in match) receive(request, response, path, route, match, receivedAt);
      else {
        request.resume();
        write(response, match);
      }
    } else if (pipeline.servesConnect(path)) receive(request, response, path, undefined, undefined, receivedAt);
    else if (otherwise) otherwise(request, response);
    else {
      request.resume();
      write(response, pipeline.notFound(path, request.method ?? 'GET'));
    }
  };
}

const empty = Buffer.alloc(0);

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

function write(response: ServerResponse, answer: NeutralResponse): void {
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
