/**
 * Decisions applied through the (mock) Stream API: one call per decision, retries within the
 * budget, 503 decision_not_applied and its re-application, ack-first, and dedupe of Stream's
 * retries by (api key, X-Webhook-Id).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import { decide, type PendingHooks } from '../src/index.js';
import { appKey, appSecret, clientSlackMs, postSigned, serverLatencyMs, sleep, startHooksServer, type RunningServer } from './support/servers.js';
import { uid, restBody, twirpJsonBody, twirpPath, expectRestError, expectTwirpError } from './support/contract.js';

describe('decisions applied through the (mock) Stream API', () => {
  let mock: MockStreamApi;
  let server: RunningServer;
  let ackServer: RunningServer;
  let commitFallback: RunningServer;
  const counts = new Map<string, number>();
  const handler = (hooks: PendingHooks) =>
    hooks.on('PassOnPendingMessage', async (event, ctx) => {
      counts.set(event.message.id, (counts.get(event.message.id) ?? 0) + 1);
      const text = event.message.text ?? '';
      if (text === 'delete') return decide.delete('spam');
      if (text === 'keep') return decide.keepPending('human');
      if (text === 'hang') await new Promise((r) => ctx.signal.addEventListener('abort', r));
      if (text === 'late-delete') {
        await sleep(500);
        return decide.delete('late');
      }
      if (text === 'slow-150') await sleep(150);
      return decide.commit('ok');
    });
  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
    server = await startHooksServer({ timeoutMs: 400, api: { baseUrl: mock.url } }, handler);
    ackServer = await startHooksServer({ timeoutMs: 400, answer: 'ack-first', fallback: 'delete', api: { baseUrl: mock.url } }, handler);
    commitFallback = await startHooksServer({ timeoutMs: 400, fallback: 'commit', api: { baseUrl: mock.url } }, handler);
  });
  afterAll(async () => {
    await Promise.all([server.close(), ackServer.close(), commitFallback.close()]);
    await mock.close();
  });
  const url = () => `${server.url}/PassOnPendingMessage`;
  const callsFor = (id: string, action?: string) => mock.calls.filter((c) => c.messageId === id && (action === undefined || c.action === action));

  it('commit → POST /messages/{id}/commit once; delete → hard delete once; keep_pending → no call', async () => {
    const [a, b, c] = [uid(), uid(), uid()];
    for (const id of [a, b, c]) mock.addPendingMessage({ id });
    expect(await (await postSigned(url(), restBody(a, 'commit'))).json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    expect(mock.stateOf(a)).toBe('committed');
    expect(await (await postSigned(url(), restBody(b, 'delete'))).json()).toStrictEqual({ action: 'delete', reason: 'spam', timed_out: false });
    expect(mock.stateOf(b)).toBe('deleted');
    expect(await (await postSigned(url(), restBody(c, 'keep'))).json()).toStrictEqual({ action: 'keep_pending', reason: 'human', timed_out: false });
    expect(mock.stateOf(c)).toBe('pending');
    expect(callsFor(a)).toHaveLength(1);
    expect(callsFor(b)).toHaveLength(1);
    expect(callsFor(c)).toHaveLength(0);
  });

  it('transient failures (500, 429, network error) are retried within the budget', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    mock.injectFaults({ action: 'commit', status: 500, count: 1 });
    mock.injectFaults({ action: 'commit', status: 429, count: 1 });
    mock.injectFaults({ action: 'commit', networkError: true, count: 1 });
    const response = await postSigned(url(), restBody(id, 'commit'));
    expect(serverLatencyMs(server, id)).toBeLessThan(400);
    expect(response.status).toBe(200);
    expect(mock.stateOf(id)).toBe('committed');
    expect(callsFor(id, 'commit')).toHaveLength(4);
  });

  it('404 on hard delete counts as done and is not retried', async () => {
    const id = uid(); // never added: the mock answers 404
    const response = await postSigned(url(), restBody(id, 'delete'));
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ action: 'delete', reason: 'spam', timed_out: false });
    await sleep(50);
    expect(callsFor(id, 'delete')).toHaveLength(1);
    expect(callsFor(id, 'delete')[0]!.status).toBe(404);
  });

  it('"not pending" on commit counts as done and is not retried', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    expect((await postSigned(url(), restBody(id, 'commit'), { webhookId: `a-${id}` })).status).toBe(200);
    const response = await postSigned(url(), restBody(id, 'commit'), { webhookId: `b-${id}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    await sleep(50);
    const commits = callsFor(id, 'commit');
    expect(commits).toHaveLength(2);
    expect(commits[1]!.status).toBe(400);
    expect(mock.commitCount(id)).toBe(1);
  });

  it('API failing to the end of the budget → 503 decision_not_applied before timeoutMs; the retry re-applies without rerunning the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const withdraw = mock.injectFaults({ action: 'commit', status: 503, count: Infinity });
    const started = performance.now();
    const first = await postSigned(url(), restBody(id, 'commit'), { webhookId: `w-${id}`, attempt: 1 });
    const elapsed = performance.now() - started;
    withdraw();
    await expectRestError(first, 503, 'decision_not_applied');
    expect(serverLatencyMs(server, id, 'decision not applied')).toBeLessThan(400);
    expect(elapsed).toBeLessThan(400 + clientSlackMs);
    expect(callsFor(id, 'commit').length).toBeGreaterThan(1);
    expect(mock.stateOf(id)).toBe('pending');
    const retry = await postSigned(url(), restBody(id, 'commit'), { webhookId: `w-${id}`, attempt: 2 });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    expect(mock.stateOf(id)).toBe('committed');
    expect(counts.get(id)).toBe(1);
    const third = await postSigned(url(), restBody(id, 'commit'), { webhookId: `w-${id}`, attempt: 3 });
    expect(await third.json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    expect(counts.get(id)).toBe(1);
  });

  it('Twirp: a decision not applied → unavailable 503; the retry re-applies it', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const withdraw = mock.injectFaults({ action: 'delete', status: 500, count: Infinity });
    const twUrl = `${server.url}${twirpPath('PassOnPendingMessage')}`;
    const first = await postSigned(twUrl, twirpJsonBody(id, 'delete'), { webhookId: `w-${id}` });
    withdraw();
    await expectTwirpError(first, 503, 'unavailable');
    const retry = await postSigned(twUrl, twirpJsonBody(id, 'delete'), { webhookId: `w-${id}`, attempt: 2 });
    expect(await retry.json()).toStrictEqual({ action: 'ACTION_DELETE', reason: 'spam', timed_out: false, accepted: false });
    expect(mock.stateOf(id)).toBe('deleted');
    expect(counts.get(id)).toBe(1);
  });

  it('a slow API is cut at the budget: the 503 still leaves before timeoutMs', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const withdraw = mock.injectFaults({ action: 'commit', delayMs: 1500, status: 500, count: 1 });
    const started = performance.now();
    const response = await postSigned(url(), restBody(id, 'commit'));
    const elapsed = performance.now() - started;
    withdraw();
    await expectRestError(response, 503, 'decision_not_applied');
    expect(serverLatencyMs(server, id, 'decision not applied')).toBeLessThan(400);
    expect(elapsed).toBeLessThan(400 + clientSlackMs);
  });

  it('timeout with fallback commit: the fallback is applied through the API, answered in time', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const response = await postSigned(`${commitFallback.url}/PassOnPendingMessage`, restBody(id, 'hang'));
    expect(serverLatencyMs(commitFallback, id)).toBeLessThan(400);
    expect(await response.json()).toStrictEqual({ action: 'commit', reason: 'timeout', timed_out: true });
    expect(mock.stateOf(id)).toBe('committed');
  });

  it('a late handler result is never applied (inline)', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const response = await postSigned(url(), restBody(id, 'late-delete'));
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    await sleep(350);
    expect(callsFor(id)).toHaveLength(0);
    expect(mock.stateOf(id)).toBe('pending');
  });

  it('ack-first: answers {"accepted": true} at once, then applies the decision before the budget ends', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const started = performance.now();
    const response = await postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'));
    expect(performance.now() - started).toBeLessThan(120);
    expect(await response.text()).toBe('{"accepted":true}');
    expect(mock.stateOf(id)).toBe('pending');
    await mock.waitForState(id, 'committed', 400);
    expect(callsFor(id, 'commit')).toHaveLength(1);
    // Logged once Stream's API answered the call, just after the mock recorded it.
    expect(await vi.waitFor(() => serverLatencyMs(ackServer, id))).toBeLessThan(400);
  });

  it('ack-first: a timed-out handler gets the fallback applied through the API before the budget ends; its late result is dropped', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const response = await postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'late-delete'));
    expect(await response.json()).toStrictEqual({ accepted: true });
    await mock.waitForState(id, 'deleted', 600);
    // Logged once Stream's API answered the call, just after the mock recorded it.
    expect(await vi.waitFor(() => serverLatencyMs(ackServer, id))).toBeLessThan(400);
    await sleep(300);
    expect(callsFor(id)).toHaveLength(1);
  });

  it('ack-first: a retry while the decision is in flight is accepted and does not rerun the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const wh = `w-${id}`;
    const [a, b] = await Promise.all([
      postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'), { webhookId: wh }),
      postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'), { webhookId: wh, attempt: 2 }),
    ]);
    expect(await a.json()).toStrictEqual({ accepted: true });
    expect(await b.json()).toStrictEqual({ accepted: true });
    await mock.waitForState(id, 'committed', 500);
    const c = await postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'), { webhookId: wh, attempt: 3 });
    expect(await c.json()).toStrictEqual({ accepted: true });
    expect(counts.get(id)).toBe(1);
    expect(callsFor(id, 'commit')).toHaveLength(1);
  });

  it('dedupe: concurrent duplicates share one decision; later ones get the remembered answer', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const wh = `w-${id}`;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => postSigned(url(), restBody(id, 'slow-150'), { webhookId: wh, attempt: i + 1 }).then((r) => r.text())));
    expect(new Set(answers)).toEqual(new Set(['{"action":"commit","reason":"ok","timed_out":false}']));
    const later = await postSigned(url(), restBody(id, 'slow-150'), { webhookId: wh, attempt: 9 });
    expect(await later.text()).toBe('{"action":"commit","reason":"ok","timed_out":false}');
    expect(counts.get(id)).toBe(1);
    expect(callsFor(id)).toHaveLength(1);
  });

  it('dedupe: a remembered timed-out decision is answered again without rerunning the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const wh = `w-${id}`;
    const first = await postSigned(url(), restBody(id, 'hang'), { webhookId: wh });
    expect(await first.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    const second = await postSigned(url(), restBody(id, 'hang'), { webhookId: wh, attempt: 2 });
    expect(await second.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    expect(counts.get(id)).toBe(1);
  });

  it('no X-Webhook-Id: every call runs the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    await postSigned(url(), restBody(id, 'keep'));
    await postSigned(url(), restBody(id, 'keep'));
    expect(counts.get(id)).toBe(2);
  });
});
