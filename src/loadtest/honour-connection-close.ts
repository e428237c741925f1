/**
 * The parts of autocannon 8's `lib/httpClient.js` Client this patch touches. autocannon writes
 * the next request as soon as a response is complete, on the same socket, even when the server
 * answered `connection: close`: that request is counted as sent, is never answered, and the run
 * ends short (with `amount`, half of a run of refusals went missing this way).
 */
interface AutocannonClient {
  on(event: 'headers', listener: (info: { shouldKeepAlive?: boolean }) => void): unknown;
  _doRequest: (...args: unknown[]) => unknown;
  _connect: () => unknown;
}

/**
 * autocannon's `setupClient`: once a response says the connection will close, the next request
 * waits for the new connection autocannon opens when the server's FIN arrives, as a browser or
 * undici would, instead of being written into the closing socket.
 */
export function honourConnectionClose(client: unknown): void {
  const patched = client as AutocannonClient;
  const doRequest = patched._doRequest;
  const connect = patched._connect;
  let closing = false;
  patched.on('headers', (info) => {
    if (info.shouldKeepAlive === false) closing = true;
  });
  patched._doRequest = function (this: AutocannonClient, ...args: unknown[]) {
    if (closing) return undefined;
    return doRequest.apply(this, args);
  };
  patched._connect = function (this: AutocannonClient) {
    closing = false;
    return connect.call(this);
  };
}
