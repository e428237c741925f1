import { describe, expect, it } from 'vitest';
import { mockApiServers } from './support/mock-api-servers.js';
import { compose, composeParallel, decide, DeadlineExceededError, type Decision, type HandlerContext } from '../src/index.js';
import { appKey, appSecret, clientSlackMs, pendingBody, postSigned, serverLatencyMs, sleep, type RunningServer } from './support/servers.js';

const api = mockApiServers('m');
const server = api.server.bind(api);
const pending = api.pending.bind(api);

const passOn = (s: RunningServer) => `${s.url}/PassOnPendingMessage`;
const json = async (r: Response) => (await r.json()) as Record<string, unknown>;

describe('decisions reach Stream exactly once', () => {
  it('commit and hard delete are each applied once', async () => {
    const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', (e) => (e.message.text === 'bad' ? decide.delete('bad word') : decide.commit())));
    const good = pending('fine');
    const bad = pending('bad');
    expect(await json(await postSigned(passOn(s), good.body))).toEqual({ action: 'commit', timed_out: false });
    expect(await json(await postSigned(passOn(s), bad.body))).toEqual({ action: 'delete', reason: 'bad word', timed_out: false });
    expect(api.mock.stateOf(good.id)).toBe('committed');
    expect(api.mock.stateOf(bad.id)).toBe('deleted');
    expect(api.mock.commitCount(good.id)).toBe(1);
    expect(api.mock.commitCount(bad.id)).toBe(1);
    const line = s.logs.find((l) => l.msg === 'decision' && l.messageId === bad.id);
    expect(line).toMatchObject({ action: 'delete', reason: 'bad word', timedOut: false, applied: 'applied', transport: 'rest' });
    expect(typeof line?.latencyMs).toBe('number');
    expect(typeof line?.budgetLeftMs).toBe('number');
  });

  it('keep_pending makes no API call', async () => {
    const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', () => decide.keepPending('for a human')));
    const m = pending();
    expect(await json(await postSigned(passOn(s), m.body))).toEqual({ action: 'keep_pending', reason: 'for a human', timed_out: false });
    expect(api.mock.stateOf(m.id)).toBe('pending');
    expect(api.mock.calls).toHaveLength(0);
  });
});

describe('reasons', () => {
  it('reasons that change per message (more than the 64 kept per action) are each answered, and replayed to retries', async () => {
    const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', (e) => decide.delete(`blocked: ${e.message.text}`)));
    const sent: { id: string; body: string; webhookId: string }[] = [];
    for (let i = 0; i < 80; i++) {
      const m = pending(`word-${i}`);
      const webhookId = `reasons-${m.id}`;
      sent.push({ ...m, webhookId });
      expect(await json(await postSigned(passOn(s), m.body, { webhookId }))).toEqual({ action: 'delete', reason: `blocked: word-${i}`, timed_out: false });
    }
    for (const i of [0, 63, 64, 79]) {
      const retry = await postSigned(passOn(s), sent[i]!.body, { webhookId: sent[i]!.webhookId, attempt: 2 });
      expect(await json(retry)).toEqual({ action: 'delete', reason: `blocked: word-${i}`, timed_out: false });
      expect(api.mock.commitCount(sent[i]!.id)).toBe(1);
    }
    expect(sent.every((m) => api.mock.stateOf(m.id) === 'deleted')).toBe(true);
  });
});

describe('the time budget', () => {
  it('a handler that sleeps past its deadline: answered before timeoutMs with the fallback, applied once, late result dropped', async () => {
    let sawAbort: unknown;
    const s = await server({ timeoutMs: 400, fallback: 'delete' }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (_e, ctx) => {
        ctx.signal.addEventListener('abort', () => (sawAbort = ctx.signal.reason));
        await sleep(900); // ignores the signal on purpose: its late commit must be dropped
        return decide.commit();
      }),
    );
    const m = pending();
    const started = performance.now();
    const answer = await postSigned(passOn(s), m.body);
    const elapsed = performance.now() - started;
    expect(await json(answer)).toEqual({ action: 'delete', reason: 'timeout', timed_out: true });
    expect(serverLatencyMs(s, m.id)).toBeLessThan(400);
    expect(elapsed).toBeLessThan(400 + clientSlackMs);
    expect(sawAbort).toBeInstanceOf(DeadlineExceededError);
    await sleep(700); // let the late handler finish
    expect(api.mock.stateOf(m.id)).toBe('deleted');
    expect(api.mock.commitCount(m.id)).toBe(1);
    expect(api.mock.calls.filter((c) => c.messageId === m.id)).toHaveLength(1);
  });

  it('the handler sees its deadline: signal, remainingMs and wall-clock deadline leave room to apply', async () => {
    let ctx: HandlerContext | undefined;
    let remaining = 0;
    const s = await server({ timeoutMs: 500, applyReserveMs: 150 }, (hooks) =>
      hooks.on('PassOnPendingMessage', (_e, c) => {
        ctx = c;
        remaining = c.remainingMs();
        return decide.commit();
      }),
    );
    const before = Date.now();
    await postSigned(passOn(s), pending().body);
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(350);
    expect(ctx!.deadline).toBeGreaterThanOrEqual(before);
    expect(ctx!.deadline).toBeLessThanOrEqual(Date.now() + 350);
    expect(ctx!.signal.aborted).toBe(false);
  });

  it('a throwing handler gets the fallback with reason handler_error and a 200', async () => {
    const s = await server({ fallback: 'commit' }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => {
        throw new Error('classifier exploded');
      }),
    );
    const m = pending();
    const answer = await postSigned(passOn(s), m.body);
    expect(answer.status).toBe(200);
    expect(await json(answer)).toEqual({ action: 'commit', reason: 'handler_error', timed_out: false });
    expect(api.mock.stateOf(m.id)).toBe('committed');
    const rejecting = await server({}, (hooks) => hooks.on('PassOnPendingMessage', async () => Promise.reject(new Error('async boom'))));
    expect(await json(await postSigned(passOn(rejecting), pending().body))).toEqual({ action: 'keep_pending', reason: 'handler_error', timed_out: false });
  });

  it('ack-first answers {"accepted": true} at once and applies the decision through the API before the budget ends', async () => {
    const s = await server({ timeoutMs: 8000 }, (hooks) =>
      hooks.on('PassOnPendingMessage', async () => {
        await sleep(300);
        return decide.delete('slow classifier says no');
      }),
    );
    expect(s.hooks.options.timing).toBe('ack-first');
    const m = pending();
    const started = performance.now();
    const answer = await postSigned(passOn(s), m.body, { webhookId: 'ack-1' });
    expect(await answer.text()).toBe('{"accepted":true}');
    expect(performance.now() - started).toBeLessThan(300);
    expect(api.mock.stateOf(m.id)).toBe('pending');
    await api.mock.waitForState(m.id, 'deleted', 3000);
    // Stream's retry of the same callback while (or after) deciding: accepted again, nothing re-run.
    expect(await (await postSigned(passOn(s), m.body, { webhookId: 'ack-1', attempt: 2 })).text()).toBe('{"accepted":true}');
    expect(api.mock.commitCount(m.id)).toBe(1);
  });

  it('answer: "ack-first" can be forced for short budgets', async () => {
    const s = await server({ timeoutMs: 500, answer: 'ack-first', fallback: 'commit' }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (_e, { signal }) => {
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        return decide.delete();
      }),
    );
    const m = pending();
    expect(await json(await postSigned(passOn(s), m.body))).toEqual({ accepted: true });
    await api.mock.waitForState(m.id, 'committed', 2000); // the fallback, applied by the deadline
  });
});

describe('Stream retries are deduplicated', () => {
  it('the same X-Webhook-Id runs the handler once and answers the same decision', async () => {
    let runs = 0;
    const s = await server({}, (hooks) =>
      hooks.on('PassOnPendingMessage', () => {
        runs++;
        return decide.delete('once');
      }),
    );
    const m = pending();
    const first = await json(await postSigned(passOn(s), m.body, { webhookId: 'w-dup', attempt: 1 }));
    const second = await json(await postSigned(passOn(s), m.body, { webhookId: 'w-dup', attempt: 2 }));
    expect(second).toEqual(first);
    expect(runs).toBe(1);
    expect(api.mock.commitCount(m.id)).toBe(1);
    expect(api.mock.calls.filter((c) => c.messageId === m.id)).toHaveLength(1);
    // Another webhook id is another callback.
    const third = pending();
    await postSigned(passOn(s), third.body, { webhookId: 'w-other' });
    expect(runs).toBe(2);
  });

  it('concurrent duplicates share the one in-flight decision', async () => {
    let runs = 0;
    const s = await server({}, (hooks) =>
      hooks.on('PassOnPendingMessage', async () => {
        runs++;
        await sleep(100);
        return decide.commit('looks fine');
      }),
    );
    const m = pending();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => postSigned(passOn(s), m.body, { webhookId: 'w-conc', attempt: i + 1 }).then(json)));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ action: 'commit', reason: 'looks fine', timed_out: false });
    expect(runs).toBe(1);
    expect(api.mock.commitCount(m.id)).toBe(1);
  });

  it('the same webhook id from two apps is two callbacks', async () => {
    let runs = 0;
    const s = await server({ apiKey: undefined, apiSecret: undefined, apps: [{ apiKey: appKey, secrets: [appSecret] }, { apiKey: 'other-app', secrets: ['other-secret'] }], api: () => undefined }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => (runs++, decide.commit())),
    );
    await postSigned(passOn(s), pendingBody(), { webhookId: 'same' });
    await postSigned(passOn(s), pendingBody(), { webhookId: 'same', apiKey: 'other-app', secret: 'other-secret' });
    expect(runs).toBe(2);
  });
});

describe('applying decisions through the API', () => {
  it('retries transient failures (500, 429, network) inside the budget', async () => {
    const s = await server({ timeoutMs: 1000 }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    const m = pending();
    api.mock.injectFaults({ action: 'commit', status: 500, count: 1 });
    api.mock.injectFaults({ action: 'commit', status: 429, count: 1 });
    api.mock.injectFaults({ action: 'commit', networkError: true, count: 1 });
    const answer = await postSigned(passOn(s), m.body);
    expect(await json(answer)).toEqual({ action: 'commit', timed_out: false });
    expect(api.mock.stateOf(m.id)).toBe('committed');
    const statuses = api.mock.calls.filter((c) => c.messageId === m.id).map((c) => c.status);
    expect(statuses.slice(0, 3)).toEqual([500, 429, 0]);
    expect(statuses).toHaveLength(4);
    expect(statuses[3]).toBeGreaterThanOrEqual(200);
    expect(statuses[3]).toBeLessThan(300);
    expect(api.mock.commitCount(m.id)).toBe(1);
  });

  it('"message is not pending" and a 404 on hard delete count as done, without retries', async () => {
    const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', (e) => (e.message.text === 'del' ? decide.delete('x') : decide.commit())));
    const committed = pending('ok');
    await postSigned(passOn(s), committed.body, { webhookId: 'first' });
    expect(api.mock.stateOf(committed.id)).toBe('committed');
    // A new callback for a message that is no longer pending: the commit is refused by Stream, and that is fine.
    const again = await postSigned(passOn(s), committed.body, { webhookId: 'second' });
    expect(again.status).toBe(200);
    expect(api.mock.calls.filter((c) => c.messageId === committed.id)).toHaveLength(2);
    const unknown = await postSigned(passOn(s), pendingBody({ id: 'never-registered', text: 'del' }));
    expect(unknown.status).toBe(200);
    expect(api.mock.calls.filter((c) => c.messageId === 'never-registered')).toHaveLength(1);
    expect(s.logs.filter((l) => l.msg === 'decision' && l.applied === 'already_done')).toHaveLength(2);
  });

  it('ack-first: a decision the API keeps refusing is retried until the budget ends, then logged as failed (not dropped)', async () => {
    const s = await server({ timeoutMs: 400, answer: 'ack-first' }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    const m = pending();
    api.mock.injectFaults({ action: 'commit', status: 503, count: 1000 });
    expect(await json(await postSigned(passOn(s), m.body, { webhookId: `ack-fail-${m.id}` }))).toEqual({ accepted: true });
    const started = performance.now();
    let line: Record<string, unknown> | undefined;
    while (!(line = s.logs.find((l) => l.messageId === m.id && l.level === 50)) && performance.now() - started < 3000) await sleep(20);
    expect(line).toMatchObject({ msg: 'ack-first decision not applied within its budget: recorded as failed', applied: 'failed', webhookId: `ack-fail-${m.id}` });
    expect(line!.apiCalls as number).toBeGreaterThan(3);
    expect(api.mock.calls.filter((call) => call.messageId === m.id).length).toBe(line!.apiCalls);
    expect(api.mock.stateOf(m.id)).toBe('pending');
  });

  it('when the API keeps failing the answer is 503 decision_not_applied; the retry re-applies without running the handler', async () => {
    let runs = 0;
    const s = await server({ timeoutMs: 300 }, (hooks) => hooks.on('PassOnPendingMessage', () => (runs++, decide.delete('spam'))));
    const m = pending();
    api.mock.injectFaults({ action: 'delete', status: 503, count: 1000 });
    const started = performance.now();
    const failed = await postSigned(passOn(s), m.body, { webhookId: 'w-503' });
    // The server answers before timeoutMs by its own clock (from arrival, checked below); the
    // client's clock also counts connecting and sending on a busy machine.
    expect(performance.now() - started).toBeLessThan(300 + clientSlackMs);
    const line = s.logs.find((l) => l.msg === 'decision not applied' && l.messageId === m.id);
    expect(line?.latencyMs).toBeLessThan(300);
    expect(failed.status).toBe(503);
    expect((await json(failed)).error).toBe('decision_not_applied');
    expect(api.mock.stateOf(m.id)).toBe('pending');
    api.mock.reset();
    api.mock.addPendingMessage({ id: m.id, text: 'hello' });
    const retried = await postSigned(passOn(s), m.body, { webhookId: 'w-503', attempt: 2 });
    expect(retried.status).toBe(200);
    expect(await json(retried)).toEqual({ action: 'delete', reason: 'spam', timed_out: false });
    expect(runs).toBe(1);
    expect(api.mock.stateOf(m.id)).toBe('deleted');
    // And once applied, further retries re-answer without another API call.
    await postSigned(passOn(s), m.body, { webhookId: 'w-503', attempt: 3 });
    expect(api.mock.calls.filter((c) => c.messageId === m.id)).toHaveLength(1);
  });
});

describe('composing checks', () => {
  const blocklist = (e: { message: { text?: string | null } }) => (e.message.text?.includes('spam') ? decide.delete('blocklist') : undefined);

  it('compose: the first delete wins and later checks are skipped; no objection commits', async () => {
    let classifierRuns = 0;
    const classifier = async () => {
      classifierRuns++;
      return undefined;
    };
    const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', compose(blocklist, classifier)));
    expect(await json(await postSigned(passOn(s), pending('spam here').body))).toEqual({ action: 'delete', reason: 'blocklist', timed_out: false });
    expect(classifierRuns).toBe(0);
    expect(await json(await postSigned(passOn(s), pending('nice').body))).toEqual({ action: 'commit', timed_out: false });
    expect(classifierRuns).toBe(1);
  });

  it('compose: keep_pending holds unless a later check deletes; checks share the one budget', async () => {
    const hold = () => decide.keepPending('unsure');
    const slow = async (_e: unknown, ctx: HandlerContext) => {
      await sleep(1000);
      return ctx.signal.aborted ? undefined : decide.delete('late');
    };
    const s = await server({ timeoutMs: 300, fallback: 'keep_pending' }, (hooks) => hooks.on('PassOnPendingMessage', compose(hold, blocklist)));
    expect(await json(await postSigned(passOn(s), pending('a').body))).toEqual({ action: 'keep_pending', reason: 'unsure', timed_out: false });
    expect(await json(await postSigned(passOn(s), pending('spam').body))).toEqual({ action: 'delete', reason: 'blocklist', timed_out: false });
    const t = await server({ timeoutMs: 300 }, (hooks) => hooks.on('PassOnPendingMessage', compose(hold, slow)));
    expect(await json(await postSigned(passOn(t), pending('b').body))).toEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
  });

  it('composeParallel: a delete answers at once and aborts the slower checks', async () => {
    let aborted = false;
    const slow = async (_e: unknown, ctx: HandlerContext) => {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        ctx.signal.addEventListener('abort', () => (clearTimeout(t), (aborted = true), resolve()));
      });
      return undefined;
    };
    const s = await server({ timeoutMs: 1500 }, (hooks) => hooks.on('PassOnPendingMessage', composeParallel(slow, blocklist)));
    const started = performance.now();
    expect(await json(await postSigned(passOn(s), pending('spam!').body))).toEqual({ action: 'delete', reason: 'blocklist', timed_out: false });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(aborted).toBe(true);
    const quick = await server({}, (hooks) => hooks.on('PassOnPendingMessage', composeParallel(blocklist, async () => undefined)));
    expect(await json(await postSigned(passOn(quick), pending('fine').body))).toEqual({ action: 'commit', timed_out: false });
  });
});

describe('DeletedPendingMessage', () => {
  it('runs its handler once per webhook id and answers {"ok": true}, even when the handler throws', async () => {
    const seen: string[] = [];
    const s = await server({}, (hooks) =>
      hooks.on('DeletedPendingMessage', (e) => {
        seen.push(e.message.id);
        if (e.message.text === 'throw') throw new Error('cleanup failed');
      }),
    );
    const url = `${s.url}/DeletedPendingMessage`;
    const body = pendingBody({ id: 'gone-1' });
    for (const attempt of [1, 2]) expect(await json(await postSigned(url, body, { webhookId: 'd-1', attempt }))).toEqual({ ok: true });
    expect(seen).toEqual(['gone-1']);
    expect(await json(await postSigned(url, pendingBody({ id: 'gone-2', text: 'throw' })))).toEqual({ ok: true });
  });
});

describe('handler edge cases (synchronous answers)', () => {
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('a handler that overruns synchronously, reads its signal, then returns a promise: fallback, retries answered, close() ends', async () => {
    const s = await server({ timeoutMs: 200, applyReserveMs: 100 }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (_e, ctx) => {
        busy(150);
        void ctx.signal;
        await sleep(10);
        return decide.commit();
      }),
    );
    const m = pending();
    const first = await postSigned(passOn(s), m.body, { webhookId: 'overrun-1' });
    expect(await json(first)).toEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    const retry = await postSigned(passOn(s), m.body, { webhookId: 'overrun-1', attempt: 2 });
    expect(await json(retry)).toEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    const started = performance.now();
    await s.hooks.close(500);
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('a synchronous handler that returns after its deadline gets the fallback, not its late result', async () => {
    const s = await server({ timeoutMs: 200, applyReserveMs: 100 }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => {
        busy(130);
        return decide.commit();
      }),
    );
    const m = pending();
    expect(await json(await postSigned(passOn(s), m.body))).toEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    expect(api.mock.commitCount(m.id)).toBe(0);
  });

  it('a decision whose reason cannot be read is a handler error (200), sync or async, and never crashes the process', async () => {
    const unreadable = () => ({ action: 'delete' as const, reason: Object.create(null) as string });
    for (const asynchronous of [false, true]) {
      const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', () => (asynchronous ? Promise.resolve(unreadable()) : unreadable())));
      const m = pending();
      const response = await postSigned(passOn(s), m.body);
      expect(response.status).toBe(200);
      expect(await json(response)).toEqual({ action: 'keep_pending', reason: 'handler_error', timed_out: false });
      expect(s.logs.some((l) => l.msg === 'handler threw; fallback applied')).toBe(true);
    }
  });

  it('thenables that are not Promises are awaited (PassOn and Deleted)', async () => {
    const later = <T>(value: T, ms: number): PromiseLike<T> => ({
      then: (resolve, reject) => new Promise<T>((r) => setTimeout(() => r(value), ms)).then(resolve, reject),
    });
    let deletedDone = false;
    const s = await server({}, (hooks) => {
      // The types ask for a Promise; a thenable (another library's, another realm's) still works.
      hooks.on('PassOnPendingMessage', () => later(decide.delete('thenable'), 20) as Promise<Decision>);
      hooks.on('DeletedPendingMessage', () =>
        ({ then: (resolve: (v: undefined) => void) => setTimeout(() => ((deletedDone = true), resolve(undefined)), 50) }) as unknown as Promise<void>,
      );
    });
    const m = pending();
    expect(await json(await postSigned(passOn(s), m.body))).toEqual({ action: 'delete', reason: 'thenable', timed_out: false });
    const deleted = await postSigned(`${s.url}/DeletedPendingMessage`, pendingBody({ id: 'gone-1' }));
    expect(deleted.status).toBe(200);
    expect(deletedDone).toBe(true);
  });

  it('with an asynchronous store, concurrent duplicates run the handler once (even when deciding is synchronous)', async () => {
    const records = new Map<string, unknown>();
    let runs = 0;
    const s = await server(
      {
        api: undefined, // dry run: with a synchronous handler the decision is complete at once
        dedupe: {
          // Read now, answered later: what a remote store does.
          get: async (key) => {
            const value = records.get(key);
            await sleep(30);
            return value as never;
          },
          set: (key, record) => void records.set(key, record),
        },
      },
      (hooks) =>
        hooks.on('PassOnPendingMessage', () => {
          runs++;
          return decide.commit();
        }),
    );
    const m = pending();
    const answers = await Promise.all([1, 2, 3].map((attempt) => postSigned(passOn(s), m.body, { webhookId: 'dup-async-store', attempt })));
    for (const answer of answers) expect(await json(answer)).toEqual({ action: 'commit', timed_out: false });
    expect(runs).toBe(1);
  });
});
