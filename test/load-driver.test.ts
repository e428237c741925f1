import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLatencyRecorders } from '../src/loadtest/latency.js';
import { driveLoad, type DriverAnswer } from '../src/loadtest/load-driver.js';

/**
 * The load driver of `pending-hooks bench` and bench/ against plain node:http servers that
 * answer the ways a server may: chunked, `Connection: close`, 204, late or never, or not at all.
 */

const latency = await loadLatencyRecorders();
const requests = [
  { body: Buffer.from('{"a":1}'), headers: { 'content-type': 'application/json', 'x-signature': 'aa' } },
  { body: Buffer.from('{"b":2}'), headers: { 'content-type': 'application/json', 'x-signature': 'bb' } },
];

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)))));
});

async function serve(handler: (request: IncomingMessage & { body: string }, response: ServerResponse) => void): Promise<string> {
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handler(Object.assign(request, { body }), response));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('driveLoad', () => {
  it('closed loop with an amount: every request sent once with its body, headers and own webhook id; chunked, close and 204 answers read', async () => {
    const ids: string[] = [];
    const bodies = new Set<string>();
    let n = 0;
    const origin = await serve((request, response) => {
      ids.push(String(request.headers['x-webhook-id']));
      bodies.add(`${request.headers['x-signature']} ${request.body}`);
      const kind = n++ % 3;
      if (kind === 0) {
        // Chunked: no Content-Length.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"action":');
        response.end('"commit"}');
      } else if (kind === 1) {
        response.writeHead(401, { 'content-type': 'application/json', connection: 'close' }).end('{"error":"invalid_signature"}');
      } else response.writeHead(204).end();
    });
    const answers: DriverAnswer[] = [];
    const result = await driveLoad({ origin, path: '/hook', requests, webhookIdPrefix: 'run-', connections: 3, amount: 30, latency, onAnswer: (answer) => answers.push(answer) });
    expect(result).toMatchObject({ sent: 30, answered: 30, networkErrors: 0, timeouts: 0, unanswered: 0 });
    expect(result.latency.count).toBe(30);
    expect(new Set(ids).size).toBe(30);
    expect(ids.every((id) => /^run-\d+$/.test(id))).toBe(true);
    expect([...bodies].sort()).toEqual(['aa {"a":1}', 'bb {"b":2}']);
    const byStatus = (status: number) => answers.filter((answer) => answer.status === status);
    expect(byStatus(200)).toHaveLength(10);
    expect(byStatus(200).every((answer) => answer.body.toString() === '{"action":"commit"}' && answer.contentType === 'application/json')).toBe(true);
    expect(byStatus(401).every((answer) => answer.body.toString() === '{"error":"invalid_signature"}')).toBe(true);
    expect(byStatus(204).every((answer) => answer.body.length === 0)).toBe(true);
  });

  it('gives up on a request after the request timeout and goes on on a new connection', async () => {
    let n = 0;
    const origin = await serve((_request, response) => {
      // The second request is never answered.
      if (n++ !== 1) response.end('{}');
    });
    const errors: string[] = [];
    const result = await driveLoad({ origin, path: '/', requests, webhookIdPrefix: 'x', connections: 1, amount: 4, requestTimeoutMs: 200, latency, onError: (kind) => errors.push(kind) });
    expect(result).toMatchObject({ sent: 4, answered: 3, timeouts: 1, networkErrors: 0 });
    expect(errors).toEqual(['timeout']);
  });

  it('counts connection failures without spinning when nobody listens', async () => {
    const free = createTcpServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));
    const result = await driveLoad({ origin: `http://127.0.0.1:${port}`, path: '/', requests, webhookIdPrefix: 'x', connections: 2, durationS: 0.5, latency });
    expect(result.answered).toBe(0);
    expect(result.networkErrors).toBeGreaterThan(0);
    // One attempt per connection every 20 ms at most.
    expect(result.sent).toBeLessThan(2 * (500 / 20) + 4);
    expect(result.lastError).toMatch(/ECONNREFUSED|closed/);
  });

  it('open loop: sends at the rate and counts latency from the due time, so queueing behind a slow server shows', async () => {
    const origin = await serve((_request, response) => void setTimeout(() => response.end('{}'), 5));
    const steady = await driveLoad({ origin, path: '/', requests, webhookIdPrefix: 'a', connections: 4, rate: 100, durationS: 1, latency });
    expect(steady).toMatchObject({ sent: 100, answered: 100, unanswered: 0 });
    expect(steady.seconds).toBeGreaterThan(0.95);
    expect(steady.latency.p50).toBeGreaterThanOrEqual(5);
    expect(steady.latency.p50).toBeLessThan(50);
    expect(steady.sendLag?.count).toBe(100);

    // One connection, 40 ms per answer (25/s) at 100/s: requests wait for the connection.
    const slowOrigin = await serve((_request, response) => void setTimeout(() => response.end('{}'), 40));
    const overloaded = await driveLoad({ origin: slowOrigin, path: '/', requests, webhookIdPrefix: 'b', connections: 1, rate: 100, durationS: 0.5, drainS: 0.3, latency });
    expect(overloaded.sent).toBeLessThan(50);
    expect(overloaded.unanswered).toBeGreaterThan(0);
    expect(overloaded.answered + overloaded.unanswered).toBe(50);
    // The unanswered enter the latency with their wait: the summary covers all 50.
    expect(overloaded.latency.count).toBe(50);
    expect(overloaded.latency.max).toBeGreaterThan(400);
  });

  it("open loop with whenAllBusy 'skip': a due request with no free connection is not sent, so latency is the server's", async () => {
    const slowOrigin = await serve((_request, response) => void setTimeout(() => response.end('{}'), 40));
    const result = await driveLoad({ origin: slowOrigin, path: '/', requests, webhookIdPrefix: 's', connections: 1, rate: 100, durationS: 0.5, drainS: 0.3, whenAllBusy: 'skip', latency });
    expect(result.skipped).toBeGreaterThan(20);
    expect(result.sent + result.skipped).toBe(50);
    expect(result.answered).toBe(result.sent);
    expect(result.unanswered).toBe(0);
    // Due → sent at once on the free connection → ~40 ms, never the queueing of the default.
    expect(result.latency.max).toBeLessThan(200);
  });

  it('stops when aborted', async () => {
    const origin = await serve((_request, response) => response.end('{}'));
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const started = performance.now();
    const result = await driveLoad({ origin, path: '/', requests, webhookIdPrefix: 'c', connections: 2, durationS: 30, latency, signal: abort.signal });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result.aborted).toBe(true);
    expect(result.answered).toBeGreaterThan(0);
  });
});
