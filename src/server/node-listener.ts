import type { IncomingMessage, ServerResponse } from 'node:http';
import { HookError } from '../core/hook-error.js';
import type { NeutralRequest, NeutralResponse } from '../core/neutral.js';
import type { PendingHooks } from '../pending-hooks.js';

/**
 * A plain `node:http` request listener serving the hooks, for apps without fastify:
 * `http.createServer(createNodeListener(hooks)).listen(3000)`.
 */
export function createNodeListener(hooks: PendingHooks): (request: IncomingMessage, response: ServerResponse) => void {
  const { pipeline } = hooks;
  const limit = hooks.options.bodyLimit;
  // Route, method and content type are judged before size, as in every adapter.
  const refuseTooLarge = (request: NeutralRequest): NeutralResponse => {
    const route = pipeline.routes.find((r) => r.path === request.path);
    if (!route) return pipeline.notFound(request.path, request.method);
    const match = pipeline.preflight(route, request.method, request.headers);
    if (!('codec' in match)) return match;
    return match.codec.encodeError(new HookError('payload_too_large', `body exceeds ${limit} bytes`));
  };
  return (request, response) => {
    const receivedAt = performance.now();
    const path = (request.url ?? '/').split('?')[0]!;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('error', () => response.destroy());
    request.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const neutral = { method: request.method ?? 'GET', path, headers: request.headers, body, receivedAt };
      const answer = tooLarge ? Promise.resolve(refuseTooLarge(neutral)) : pipeline.handle(neutral);
      answer.then(
        (result) => {
          response.writeHead(result.status, result.headers);
          response.end(result.body);
        },
        (error: unknown) => {
          hooks.logger.error({ err: error }, 'pending-hooks listener failed');
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end('{"error":"internal","message":"internal error"}');
        },
      );
    });
  };
}
