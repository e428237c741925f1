/**
 * A fast mock of the two Stream API calls a decision makes, for the bench rows that apply
 * decisions: `POST /messages/{id}/commit` → 201 and `DELETE /messages/{id}?hard=true` → 200,
 * each with a small Stream-like JSON body. Plain node:http, no auth beyond the presence of
 * `api_key` and `Authorization` (a request without them is a 401: a row that forgot them fails
 * its probe), so that it costs the load generator's core as little as possible.
 * `GET /stats` answers `{"commit": n, "delete": n, "connections": n}` (calls answered and
 * connections accepted so far): the runner reads it
 * around each row's probe to check the decisions really reached the API.
 */
import { createServer } from 'node:http';
import { announce, serverHost, serverPort } from '../lib/common.js';

let commits = 0;
let deletes = 0;
const commitPath = /^\/messages\/([^/?]+)\/commit(?:\?|$)/;
const deletePath = /^\/messages\/([^/?]+)\?/;
const jsonHead = { 'content-type': 'application/json; charset=utf-8' };

const server = createServer((request, response) => {
  const url = request.url ?? '';
  // The body (`{}` on commit) is not needed: drain it so the socket is reused.
  request.resume();
  request.once('end', () => {
    let status = 404;
    let body = '{"code":16,"message":"no route","StatusCode":404}';
    if (url === '/stats') {
      status = 200;
      body = JSON.stringify({ commit: commits, delete: deletes, connections });
    } else if (!url.includes('api_key=') || !request.headers.authorization) {
      status = 401;
      body = '{"code":2,"message":"api_key or Authorization missing","StatusCode":401}';
    } else if (request.method === 'POST' && commitPath.test(url)) {
      commits++;
      status = 201;
      body = `{"message":{"id":"${commitPath.exec(url)![1]}","type":"regular"},"duration":"0.10ms"}`;
    } else if (request.method === 'DELETE' && deletePath.test(url) && url.includes('hard=true')) {
      deletes++;
      status = 200;
      body = `{"message":{"id":"${deletePath.exec(url)![1]}","type":"deleted"},"duration":"0.10ms"}`;
    }
    response.writeHead(status, { ...jsonHead, 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
});
let connections = 0;
server.on('connection', () => connections++);
server.keepAliveTimeout = 65_000;
server.listen(serverPort(), serverHost, () => announce((server.address() as { port: number }).port));
