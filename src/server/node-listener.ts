import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PendingHooks } from '../pending-hooks.js';

/**
 * A plain `node:http` request listener serving the hooks, for apps without fastify:
 * `http.createServer(createNodeListener(hooks)).listen(3000)`.
 */
export function createNodeListener(hooks: PendingHooks): (request: IncomingMessage, response: ServerResponse) => void {
  const { pipeline } = hooks;
  const limit = hooks.options.bodyLimit;
  return (request, response) => {
    const receivedAt = performance.now();
    const path = (request.url ?? '/').split('?')[0]!;
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      // Keep bytes until the body is known to be too large: the pipeline then refuses it with
      // 413 at the size stage, after route, method and content type (the contract's order).
      if (size > limit) return;
      size += chunk.length;
      chunks.push(chunk);
    });
    request.on('error', () => response.destroy());
    request.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      pipeline.handle({ method: request.method ?? 'GET', path, headers: request.headers, body, receivedAt }).then(
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
