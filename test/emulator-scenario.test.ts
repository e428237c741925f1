import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import * as moderationHandlers from '../examples/moderation-handlers.js';
import { registerEmulateCommand } from '../src/cli/emulate-command.js';
import {
  createMockStreamApi,
  formatScenarioReport,
  runScenario,
  scenarioMessageKinds,
  summarizeLatencies,
  type ScenarioReport,
} from '../src/emulator/index.js';
import { compose, createPendingHooks, decide } from '../src/index.js';
import { signServerToken } from '../src/stream-api/server-token.js';
import { freePort } from './support/free-port.js';
import { startHooksServer } from './support/servers.js';

const silent = pino({ level: 'silent' });

/** What every report must satisfy. */
function expectConsistent(report: ScenarioReport) {
  const { outcome, byKind } = report;
  const n = report.settings.messages;
  expect(outcome.messages).toBe(n);
  expect(outcome.committed + outcome.deleted + outcome.expired + outcome.pending).toBe(n);
  for (const field of ['messages', 'committed', 'deleted', 'expired', 'pending'] as const) {
    expect(scenarioMessageKinds.reduce((sum, kind) => sum + byKind[kind][field], 0)).toBe(outcome[field]);
  }
  expect(report.details).toHaveLength(n);
  const d = report.decisionLatency;
  expect(d.count).toBe(outcome.committed + outcome.deleted);
  if (d.count > 0) {
    expect(d.p50!).toBeGreaterThan(0);
    expect(d.p50!).toBeLessThanOrEqual(d.p90!);
    expect(d.p90!).toBeLessThanOrEqual(d.p99!);
    expect(d.p99!).toBeLessThanOrEqual(d.max!);
  }
  const a = report.answerLatency;
  if (a.count > 0) {
    expect(a.p50!).toBeLessThanOrEqual(a.p90!);
    expect(a.p90!).toBeLessThanOrEqual(a.p99!);
    expect(a.p99!).toBeLessThanOrEqual(a.max!);
  }
  const c = report.callbacks;
  expect(c.ok + c.failed + c.aborted).toBe(c.sent);
  expect(Object.values(c.finalStatus).reduce((x, y) => x + y, 0)).toBe(c.sent);
  expect(report.deletedCallbacks.sent).toBe(outcome.expired);
}

describe('runScenario against the example moderation handlers', () => {
  it('REST, 40 messages at 400/s with bad words, slow ones and 503s from the API', async () => {
    const progress: string[] = [];
    // Generous for a loaded machine: the classifier needs at most 320 ms, a [slow] message 2 s.
    const timeoutMs = 1000;
    const report = await runScenario({
      handlers: moderationHandlers,
      mode: 'rest',
      messages: 40,
      rate: 400,
      badShare: 0.25,
      slowShare: 0.15,
      apiFaults: { status: 503, share: 0.2 },
      timeoutMs,
      fallback: 'keep_pending',
      seed: 42,
      progress: (line) => progress.push(line),
      progressIntervalMs: 100,
    });
    expectConsistent(report);
    const { byKind, outcome } = report;
    expect(byKind.bad.messages + byKind['bad+slow'].messages).toBe(10);
    expect(byKind.slow.messages + byKind['bad+slow'].messages).toBe(6);

    // The blocklist deletes every bad message, slow or not (it runs before the classifier).
    expect(outcome.deleted).toBeGreaterThanOrEqual(byKind.bad.messages);
    expect(byKind.bad.deleted).toBe(byKind.bad.messages);
    expect(byKind['bad+slow'].deleted).toBe(byKind['bad+slow'].messages);
    // Slow ones miss the budget; the fallback keeps them pending; 'Stream' expires them at timeout_ms.
    expect(byKind.slow.messages).toBeGreaterThan(0);
    expect(byKind.slow.expired).toBe(byKind.slow.messages);
    for (const record of report.details.filter((r) => r.kind === 'slow')) {
      expect(record).toMatchObject({ state: 'expired', action: 'keep_pending', reason: 'timeout', timedOut: true, apiCalls: 0 });
      expect(record.expiredMs!).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(record.expiredMs!).toBeLessThan(timeoutMs + 1000);
    }
    // API faults were injected and retried by the server; the decisions still landed.
    expect(report.api.faultsInjected).toBeGreaterThan(0);
    expect(report.api.byStatus['503']).toBe(report.api.faultsInjected);
    expect(report.api.retriedMessages).toBeGreaterThan(0);
    expect(report.api.retries).toBeGreaterThanOrEqual(report.api.retriedMessages);
    const shouldLand = byKind.clean.messages + byKind.bad.messages + byKind['bad+slow'].messages;
    expect(outcome.committed + outcome.deleted).toBeGreaterThanOrEqual(Math.ceil(shouldLand * 0.9));
    expect(byKind.clean.committed).toBeGreaterThanOrEqual(Math.ceil(byKind.clean.messages * 0.9));
    // Every callback answered 200 inline, with the decision; latency within timeout_ms.
    expect(report.callbacks).toMatchObject({ sent: 40, ok: 40, failed: 0, aborted: 0, finalStatus: { '200': 40 } });
    expect(report.answers.timedOut).toBe(byKind.slow.messages);
    expect(report.decisionLatency.max).toBeLessThan(timeoutMs);
    expect(report.decisionLatency.overTimeout).toBe(0);
    expect(report.answerLatency.count).toBe(40);
    expect(report.lateDecisions).toBe(0);
    expect(report.deletedCallbacks).toEqual({ sent: outcome.expired, ok: outcome.expired, failed: 0, aborted: 0 });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatch(/sent 40\/40 {2}decided \d+ {2}expired \d+ {2}in flight \d+/);

    const text = formatScenarioReport(report);
    expect(text).toMatch(/scenario: 40 messages in rest at 400\/s, timeout_ms 1000/);
    expect(text).toMatch(new RegExp(`all\\s+40\\s+${outcome.committed}\\s+${outcome.deleted}\\s+${outcome.expired}\\s+0`));
    expect(text).toMatch(/decision\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+p99 \(\d+%\)/);
    expect(text).toMatch(/injected faults [1-9]/);
  });

  it('twirp-protobuf with gzip: the same outcomes per kind', async () => {
    const report = await runScenario({
      handlers: moderationHandlers,
      mode: 'twirp-protobuf',
      gzip: true,
      messages: 30,
      rate: 500,
      badShare: 0.2,
      slowShare: 0.1,
      apiFaults: [{ status: 500, share: 0.15, action: 'commit' }],
      timeoutMs: 1000,
      seed: 'twirp',
    });
    expectConsistent(report);
    expect(report.settings).toMatchObject({ mode: 'twirp-protobuf', twirpPrefix: '/twirp', gzip: true });
    expect(report.byKind.bad.deleted).toBe(report.byKind.bad.messages);
    expect(report.byKind.slow.expired).toBe(report.byKind.slow.messages);
    expect(report.callbacks.ok).toBe(30);
    expect(report.answers.commit + report.answers.delete + report.answers.keep_pending).toBe(30);
    expect(report.byKind.clean.committed).toBeGreaterThanOrEqual(Math.ceil(report.byKind.clean.messages * 0.9));
    // Only commits were faulted.
    expect(report.api.faultsInjected).toBeGreaterThan(0);
    expect(report.details.filter((r) => r.kind === 'bad').every((r) => r.apiCalls === 1)).toBe(true);
  });

  it('counts decisions that arrive after timeout_ms as late: refused, the messages expired', async () => {
    const report = await runScenario({
      // A server whose budget is longer than the hook's timeout_ms: its deletes land after the expiry.
      hooks: ({ apiBaseUrl, apiKey, apiSecret }) => {
        const hooks = createPendingHooks({ apiKey, apiSecret, timeoutMs: 2000, api: { baseUrl: apiBaseUrl }, logger: silent });
        hooks.on('PassOnPendingMessage', async (_event, { signal }) => {
          await new Promise((resolve) => setTimeout(resolve, 250));
          signal.throwIfAborted();
          return decide.delete('late');
        });
        return hooks;
      },
      messages: 6,
      rate: 0,
      badShare: 0,
      slowShare: 0,
      timeoutMs: 120,
      drainMs: 1500,
      seed: 3,
    });
    expectConsistent(report);
    expect(report.outcome).toEqual({ messages: 6, committed: 0, deleted: 0, expired: 6, pending: 0 });
    expect(report.lateDecisions).toBe(6);
    expect(report.decisionLatency.count).toBe(0);
    expect(report.answers.delete).toBe(6);
    expect(report.api.byStatus).toEqual({ '404': 6 });
    expect(formatScenarioReport(report)).toMatch(/6 refused as late/);
  });

  it('drives an external server (url) through a mock API on a given port', async () => {
    const port = await freePort();
    const apiBaseUrl = `http://127.0.0.1:${port}`;
    const server = await startHooksServer({ timeoutMs: 1000, api: { baseUrl: apiBaseUrl }, apiKey: 'ext-key', apiSecret: 'ext-secret' }, (hooks) =>
      hooks.on('PassOnPendingMessage', compose(moderationHandlers.blocklistCheck)),
    );
    try {
      let ready: { apiUrl: string; targetUrl: string; inProcess: boolean } | undefined;
      const report = await runScenario({
        url: server.url,
        api: { port },
        apiKey: 'ext-key',
        secret: 'ext-secret',
        mode: 'twirp-json',
        messages: 12,
        rate: 0,
        badShare: 0.5,
        slowShare: 0,
        timeoutMs: 1000,
        seed: 9,
        onReady: (info) => void (ready = info),
      });
      expect(ready).toEqual({ apiUrl: apiBaseUrl, targetUrl: server.url, inProcess: false });
      expectConsistent(report);
      // The blocklist alone: bad messages deleted, the rest committed.
      expect(report.byKind.bad.deleted).toBe(6);
      expect(report.byKind.clean.committed).toBe(6);
      expect(report.callbacks.ok).toBe(12);
    } finally {
      await server.close();
    }
  });

  it('validates its options', async () => {
    await expect(runScenario({})).rejects.toThrow(/give `url`, `handlers` or `hooks`/);
    await expect(runScenario({ url: 'http://127.0.0.1:1', handlers: moderationHandlers })).rejects.toThrow(TypeError);
    await expect(runScenario({ handlers: moderationHandlers, badShare: 1.5 })).rejects.toThrow(RangeError);
    await expect(runScenario({ handlers: moderationHandlers, mode: 'grpc' as never })).rejects.toThrow(TypeError);
  });

  it('summarizes latencies by nearest rank', () => {
    expect(summarizeLatencies([])).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarizeLatencies(samples)).toEqual({ count: 100, min: 1, mean: 50.5, p50: 50, p90: 90, p99: 99, p999: 100, max: 100 });
  });
});

describe('mock lifecycle as the scenario relies on it', () => {
  it('expiry at timeout_ms after registration; later commits and hard deletes are refused; share faults are repeatable', async () => {
    const app = { apiKey: 'life-key', secret: 'life-secret' };
    const mock = await createMockStreamApi({ apps: [app] });
    const token = await signServerToken(app.secret);
    const call = async (method: 'POST' | 'DELETE', path: string) => {
      const response = await request(`${mock.url}${path}${path.includes('?') ? '&' : '?'}api_key=${app.apiKey}`, {
        method,
        headers: { authorization: token, 'stream-auth-type': 'jwt' },
      });
      await response.body.dump();
      return response.statusCode;
    };
    try {
      const t0 = performance.now();
      mock.addPendingMessage({ id: 'late-1' }, { timeoutMs: 80 });
      mock.addPendingMessage({ id: 'late-2' }, { timeoutMs: 80 });
      expect(await call('POST', '/messages/late-2/commit')).toBe(201);
      expect(await call('POST', '/messages/late-2/commit')).toBe(400); // only the first commit succeeds
      await mock.waitForState('late-1', 'expired', 1000);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
      expect(await call('POST', '/messages/late-1/commit')).toBe(404);
      expect(await call('DELETE', '/messages/late-1?hard=true')).toBe(404);
      expect(mock.stateOf('late-1')).toBe('expired');
      expect(mock.stateOf('late-2')).toBe('committed');
      expect(mock.commitCount('late-1')).toBe(0);

      // A standing fault on a share of the requests, withdrawn afterwards.
      const statuses = async () => {
        const seen: number[] = [];
        for (let i = 0; i < 20; i++) {
          mock.addPendingMessage({ id: `share-${i}` });
          seen.push(await call('POST', `/messages/share-${i}/commit`));
        }
        return seen;
      };
      let state = 1;
      const random = () => ((state = (state * 48271) % 2147483647) / 2147483647);
      const withdraw = mock.injectFaults({ status: 503, share: 0.3, count: Number.POSITIVE_INFINITY, random });
      const first = await statuses();
      withdraw();
      expect(first.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(first.filter((s) => s === 201).length).toBeGreaterThan(5);
      expect(mock.calls.filter((c) => c.injected).length).toBe(first.filter((s) => s === 503).length);
      expect((await statuses()).every((s) => s === 201)).toBe(true);
    } finally {
      await mock.close();
    }
  });
});

describe('pending-hooks emulate (CLI)', () => {
  it('runs a short scenario against the default example handlers and prints the summary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ph-emulate-'));
    const jsonFile = join(dir, 'report.json');
    let output = '';
    const program = new Command('pending-hooks').exitOverride();
    registerEmulateCommand(program, { write: (text) => void (output += text) });
    await program.parseAsync(
      ['emulate', '--messages', '16', '--rate', '200', '--mode', 'twirp-json', '--gzip', '--seed', '5', '--bad-share', '0.25', '--slow-share', '0.125', '--api-fault-share', '0.2', '--timeout-ms', '1000', '--json', jsonFile],
      { from: 'user' },
    );
    expect(output).toMatch(/mock Stream API on http:\/\/127\.0\.0\.1:\d+; in-process pending-hooks server \(built-in demo handlers\)/);
    expect(output).toMatch(/sending 16 twirp-json callbacks .* at 200\/s \(seed 5\)/);
    expect(output).toMatch(/scenario: 16 messages in twirp-json \(prefix "\/twirp"\) at 200\/s, timeout_ms 1000, gzip on, seed 5/);
    expect(output).toMatch(/API faults: 503 on 20% of decision calls/);
    // Seed 5 picks 4 bad and 2 slow messages, one of them both.
    expect(output).toMatch(/clean\s+11\s+11\s+0\s+0\s+0/);
    expect(output).toMatch(/bad\s+3\s+0\s+3\s+0\s+0/);
    expect(output).toMatch(/slow\s+1\s+0\s+0\s+1\s+0/);
    expect(output).toMatch(/bad\+slow\s+1\s+0\s+1\s+0\s+0/);
    expect(output).toMatch(/all\s+16\s+11\s+4\s+1\s+0/);
    expect(output).toMatch(/decision\s+15\s/);
    expect(output).toMatch(/answer\s+16\s/);
    expect(output).toMatch(/report written to /);
    const report = JSON.parse(await readFile(jsonFile, 'utf8')) as ScenarioReport;
    expect(report.outcome).toEqual({ messages: 16, committed: 11, deleted: 4, expired: 1, pending: 0 });
    expect(report.settings).toMatchObject({ mode: 'twirp-json', seed: 5, timeoutMs: 1000, gzip: true, inProcess: true, fallback: 'keep_pending' });
  });

  it('refuses --url with --handlers, and bad numbers', async () => {
    const program = () => {
      const p = new Command('pending-hooks').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      registerEmulateCommand(p, { write: () => {} });
      return p;
    };
    await expect(program().parseAsync(['emulate', '--url', 'http://127.0.0.1:1', '--handlers', 'x.ts'], { from: 'user' })).rejects.toThrow(/not both/);
    await expect(program().parseAsync(['emulate', '--bad-share', '2'], { from: 'user' })).rejects.toThrow(/between 0 and 1/);
    await expect(program().parseAsync(['emulate', '--mode', 'grpc'], { from: 'user' })).rejects.toThrow(/Allowed choices/);
  });
});

