import type { ServerResponse } from 'node:http';
import type { RequestScope } from '../core/request-scope.js';

/**
 * Marks the request's scope `clientGone` when the connection closes before the answer is
 * written (for answers that wait: synchronous ones are written at once). Listens on the
 * response, which lives as long as this request, not on the socket (a kept-alive socket would
 * collect one listener per request).
 */
export function watchClientGone(response: ServerResponse, scope: RequestScope): void {
  response.once('close', () => {
    if (!response.writableEnded) scope.clientGone = true;
  });
}
