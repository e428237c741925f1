import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBenchCommand, runBenchCommand } from '../src/cli/bench-command.js';
import { PendingMessageRequestSchema } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { sleep } from '../src/core/deadline.js';
import { decide, type PendingHooks } from '../src/index.js';
import { renderHtmlReport } from '../src/loadtest/report-html.js';
import { formatSummary } from '../src/loadtest/report-text.js';
import { runLoad, type LoadResult } from '../src/loadtest/run-load.js';
import { createSignedRequestPool } from '../src/loadtest/signed-requests.js';
import type { CallbackMode } from '../src/emulator/callback-encoding.js';
import { appKey, appSecret, startHooksServer, type RunningServer } from './support/servers.js';

/** What the server's handler saw. */
interface Seen {
  calls: number;
  webhookIds: Set<string>;
  messageIds: Set<string>;
  apiKeys: Set<string>;
}

/**
 * By transport: requests of a previous run that were still in flight when it ended may reach
 * the handler after the next run started.
 */
let seenByTransport = new Map<string, Seen>();

function seenFor(transport: string): Seen {
  let seen = seenByTransport.get(transport);
  if (seen === undefined) {
    seen = { calls: 0, webhookIds: new Set(), messageIds: new Set(), apiKeys: new Set() };
    seenByTransport.set(transport, seen);
  }
  return seen;
}

function charSum(text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum += text.charCodeAt(i);
  return sum;
}

/** Commits, or deletes messages with the blocklisted word; records every call. */
function registerRecordingHandler(hooks: PendingHooks): void {
  hooks.on('PassOnPendingMessage', (event) => {
    const seen = seenFor(event.transport);
    seen.calls++;
    seen.webhookIds.add(event.webhookId ?? '');
    seen.messageIds.add(event.message.id);
    seen.apiKeys.add(event.apiKey ?? '');
    return /badword/.test(event.message.text ?? '') ? decide.delete('blocklist') : decide.commit();
  });
}

/**
 * A third of the messages are fast, a third take 60 ms, a third outlive the handler's
 * deadline (timeoutMs 300 − reserve 100 = 200 ms) and get the fallback with timed_out: true.
 */
function registerSlowHandler(hooks: PendingHooks): void {
  hooks.on('PassOnPendingMessage', async (event, { signal }) => {
    const kind = charSum(event.message.id) % 3;
    if (kind === 1) await sleep(60, signal);
    if (kind === 2) await sleep(5_000, signal);
    return decide.commit();
  });
}

function expectOrderedLatencies(result: LoadResult): void {
  const l = result.latencyMs;
  expect(l.min).toBeGreaterThan(0);
  expect(l.min).toBeLessThanOrEqual(l.p50);
  expect(l.p50).toBeLessThanOrEqual(l.p90);
  expect(l.p90).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.p999);
  expect(l.p999).toBeLessThanOrEqual(l.max);
  expect(l.mean).toBeGreaterThan(0);
  expect(l.mean).toBeLessThanOrEqual(l.max);
}

const transportOf: Record<CallbackMode, string> = { rest: 'rest', 'twirp-protobuf': 'twirp-protobuf', 'twirp-json': 'twirp-json' };

let server: RunningServer;
let slowServer: RunningServer;
const results: Partial<Record<CallbackMode, LoadResult>> = {};

beforeAll(async () => {
  server = await startHooksServer({ logger: { level: 'silent' }, timeoutMs: 500 }, registerRecordingHandler);
  slowServer = await startHooksServer({ logger: { level: 'silent' }, timeoutMs: 300 }, registerSlowHandler);
});

afterAll(async () => {
  await server?.close();
  await slowServer?.close();
});

describe('signed request pool', () => {
  it('signs the exact body bytes and targets the right route', () => {
    for (const mode of ['rest', 'twirp-protobuf', 'twirp-json'] as const) {
      const pool = createSignedRequestPool({ url: 'http://127.0.0.1:9/stream/', mode, secret: 's3cret', apiKey: 'k1', size: 20, twirpPrefix: '/rpc', badShare: 0.25 });
      expect(pool.entries).toHaveLength(20);
      expect(new Set(pool.entries.map((e) => e.messageId)).size).toBe(20);
      expect(new Set(pool.entries.map((e) => e.body.toString('base64'))).size).toBe(20);
      expect(pool.entries.filter((e) => e.bad)).toHaveLength(5);
      expect(pool.path).toBe(mode === 'rest' ? '/stream/PassOnPendingMessage' : '/stream/rpc/pendingmessage.v1.PendingMessageService/PassOnPendingMessage');
      expect(pool.requests).toHaveLength(20);
      for (const [request, entry] of pool.requests.map((request, i) => [request, pool.entries[i]!] as const)) {
        expect(request.body).toBe(entry.body);
        expect(request.headers['x-signature']).toBe(createHmac('sha256', 's3cret').update(request.body).digest('hex'));
        expect(request.headers['x-api-key']).toBe('k1');
        expect(request.headers['x-webhook-attempt']).toBe('1');
        // The driver adds a fresh X-Webhook-Id to every request (see the server's view below).
        expect(request.headers['x-webhook-id']).toBeUndefined();
        expect(request.headers['content-type']).toBe(mode === 'twirp-protobuf' ? 'application/protobuf' : 'application/json');
      }
      const first = pool.entries[0]!;
      if (mode === 'twirp-protobuf') {
        expect(fromBinary(PendingMessageRequestSchema, first.body).message?.id).toBe(first.messageId);
      } else {
        const json = JSON.parse(first.body.toString('utf8')) as { message: { id: string }; request_info?: unknown };
        expect(json.message.id).toBe(first.messageId);
        expect(json.request_info).toBeDefined();
      }
    }
  });
});

describe('runLoad against a real pending-hooks server', () => {
  it.each(['rest', 'twirp-protobuf', 'twirp-json'] as const)('%s: signed, varied, unique requests and a sane result', async (mode) => {
    seenByTransport = new Map();
    const progress: number[] = [];
    const result = await runLoad({
      url: server.url,
      mode,
      secret: appSecret,
      apiKey: appKey,
      connections: 4,
      durationS: 2,
      poolSize: 50,
      badShare: 0.25,
      onProgress: (snapshot) => progress.push(snapshot.elapsedS),
    });
    results[mode] = result;

    expect(result.mode).toBe(mode);
    expect(result.requests).toBeGreaterThan(50);
    expect(result.rps).toBeGreaterThan(0);
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.statusCounts).toEqual({ 200: result.requests });
    expectOrderedLatencies(result);
    expect(result.budgetMisses.timedOutAnswers).toBe(0);
    // Nothing near 500 ms is expected; allow a stray stall on a loaded CI machine.
    expect(result.budgetMisses.slowerThanBudget).toBeLessThanOrEqual(result.requests * 0.01);
    // The answers were read: a quarter of the messages carry the blocklisted word.
    expect(result.answers.undecodable).toBe(0);
    expect(result.answers.commit + result.answers.delete).toBe(result.requests);
    expect(result.answers.delete / result.requests).toBeGreaterThan(0.2);
    expect(result.answers.delete / result.requests).toBeLessThan(0.3);
    // Histogram and series cover every answer.
    expect(result.histogram.reduce((sum, b) => sum + b.count, 0)).toBe(result.requests);
    expect(result.series.length).toBeGreaterThanOrEqual(2);
    expect(result.series.reduce((sum, p) => sum + p.requests, 0)).toBeLessThanOrEqual(result.requests);
    expect(progress.length).toBeGreaterThanOrEqual(1);

    // The server verified every signature (else 401) and saw unique webhook ids over the whole pool.
    const seen = seenFor(transportOf[mode]);
    expect(seen.calls).toBeGreaterThanOrEqual(result.requests);
    expect(seen.webhookIds.size).toBe(seen.calls);
    expect(seen.calls).toBeGreaterThan(100);
    expect(seen.messageIds.size).toBe(50);
    expect([...seen.apiKeys]).toEqual([appKey]);
  });

  it.each(['rest', 'twirp-protobuf'] as const)('%s: counts answers slower than the budget and timed_out answers', async (mode) => {
    const result = await runLoad({ url: slowServer.url, mode, secret: appSecret, apiKey: appKey, connections: 8, durationS: 1.5, timeoutMs: 40, poolSize: 60 });
    expect(result.requests).toBeGreaterThan(10);
    expect(result.non2xx).toBe(0);
    const { slowerThanBudget, timedOutAnswers, total } = result.budgetMisses;
    expect(timedOutAnswers).toBeGreaterThan(0);
    // The fallback (keep_pending) is answered with timed_out: true.
    expect(result.answers.keep_pending).toBe(timedOutAnswers);
    // 60 ms answers and ~200 ms fallbacks are both slower than the 40 ms budget.
    expect(slowerThanBudget).toBeGreaterThan(timedOutAnswers);
    expect(total).toBe(slowerThanBudget);
    expect(result.answers.commit).toBeGreaterThanOrEqual(slowerThanBudget - timedOutAnswers);
    expect(result.latencyMs.max).toBeGreaterThanOrEqual(190);
    expectOrderedLatencies(result);
    expect(formatSummary(result)).toMatch(/answered timed_out: true {2}→ MISSES/);
  });

  it('reports refused signatures as non-2xx with their error code (amount mode)', async () => {
    const result = await runLoad({ url: server.url, secret: 'not-the-secret', apiKey: appKey, connections: 2, amount: 20 });
    expect(result.requests).toBe(20);
    expect(result.non2xx).toBe(20);
    expect(result.statusCounts).toEqual({ 401: 20 });
    expect(result.errorCodes).toEqual({ invalid_signature: 20 });
    expect(formatSummary(result)).toMatch(/is --secret/);
  });

  it('--rate is an open loop: the amount is sent at the rate, latency counted from each due time', async () => {
    const result = await runLoad({ url: server.url, secret: appSecret, apiKey: appKey, connections: 4, rate: 100, amount: 80 });
    expect(result).toMatchObject({ rate: 100, amount: 80, sent: 80, requests: 80, non2xx: 0, errors: 0 });
    // 80 requests at 100/s take 0.8 s whatever the server's speed.
    expect(result.durationS).toBeGreaterThan(0.75);
    expectOrderedLatencies(result);
  });

  it('rejects invalid options with a clear message', async () => {
    await expect(runLoad({ url: 'ftp://x', secret: 's' })).rejects.toThrow(/only http:\/\/ and https:\/\//);
    await expect(runLoad({ url: server.url, secret: '' })).rejects.toThrow(/secret is required/);
    await expect(runLoad({ url: server.url, secret: 's', connections: 0 })).rejects.toThrow(/connections must be a positive integer/);
    await expect(runLoad({ url: server.url, secret: 's', mode: 'grpc' as CallbackMode })).rejects.toThrow(/mode must be/);
  });
});

describe('reports', () => {
  it('renders a self-contained HTML page with the histogram, the latency-over-time chart and the budget line', () => {
    const result = results.rest;
    expect(result).toBeDefined();
    const html = renderHtmlReport(result!);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toMatch(/<svg id="latency-histogram"[^>]*>[\s\S]*<rect[\s\S]*<\/svg>/);
    expect(html).toMatch(/<svg id="latency-over-time"[^>]*>[\s\S]*<polyline[\s\S]*<\/svg>/);
    expect(html).toContain('id="budget-line-histogram"');
    expect(html).toContain('id="budget-line-time"');
    expect(html).toContain('timeout_ms 500');
    expect(html).toMatch(/<td>200<\/td><td class="num">[\d,]+<\/td>/);
    // Nothing is loaded from the network: no URL at all, no script, stylesheet link, import or url().
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);

    const hostile = renderHtmlReport({ ...result!, target: 'http://x/<script>alert(1)</script>', errorCodes: { '<b>x</b>': 1 } });
    expect(hostile).not.toContain('<script>');
    expect(hostile).not.toContain('<b>x</b>');
    expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('renders an empty run without failing', () => {
    const result = results.rest!;
    const empty: LoadResult = { ...result, requests: 0, histogram: [], series: [], statusCounts: {}, latencyMs: { min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 } };
    const html = renderHtmlReport(empty);
    expect(html).toContain('no answers were received');
    expect(formatSummary(empty)).toContain('status       none');
  });
});

describe('pending-hooks bench (CLI)', () => {
  it('runs from a commander program and writes the JSON and HTML reports', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ph-bench-'));
    const program = new Command('pending-hooks').exitOverride();
    registerBenchCommand(program);
    await program.parseAsync(
      ['bench', '--url', server.url, '--mode', 'twirp-json', '--secret', appSecret, '--api-key', appKey, '--connections', '2', '--duration', '1', '--out', out, '--name', 'inproc', '--no-progress'],
      { from: 'user' },
    );
    expect((await readdir(out)).sort()).toEqual(['inproc.html', 'inproc.json']);
    const json = JSON.parse(await readFile(join(out, 'inproc.json'), 'utf8')) as LoadResult;
    expect(json.mode).toBe('twirp-json');
    expect(json.requests).toBeGreaterThan(0);
    expect(json.non2xx).toBe(0);
    expect(await readFile(join(out, 'inproc.html'), 'utf8')).toContain('<svg id="latency-histogram"');
  });

  it('prints plain progress lines and the summary when stderr is not a terminal', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ph-bench-'));
    let stdout = '';
    let stderr = '';
    const outcome = await runBenchCommand(
      { url: server.url, mode: 'rest', secret: appSecret, apiKey: appKey, connections: '2', duration: '1.2', out, name: 'io', progress: true },
      { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t), isTTY: false } },
    );
    expect(outcome.exitCode).toBe(0);
    expect(stderr).not.toContain('\r');
    expect(stderr).toMatch(/^\[1s\/1\.2s\] {2}[\d,.]+ req\/s {2}p50 .* {2}p99 .* {2}errors 0 {2}non-2xx 0 {2}budget misses 0\n/m);
    expect(stdout).toMatch(/latency {6}p50 .* · p90 .* · p99 .* · p99\.9 .* · max /);
    expect(stdout).toContain(`wrote ${join(out, 'io.json')}`);
    expect(stdout).toContain(`wrote ${join(out, 'io.html')}`);
  });

  /** `pending-hooks bench` as a user runs it: through bin/ once main.ts has the command, else a two-line shim. */
  async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const { buildProgram } = await import('../src/cli/main.js');
    const wired = buildProgram().commands.some((command) => command.name() === 'bench');
    const shim = `
      const { register } = await import('tsx/esm/api'); register();
      const { Command } = await import('commander');
      const { registerBenchCommand } = await import('./src/cli/bench-command.ts');
      const program = new Command('pending-hooks'); registerBenchCommand(program);
      try { await program.parseAsync(process.argv.slice(1), { from: 'user' }); }
      catch (error) { process.stderr.write('pending-hooks: ' + error.message + '\\n'); process.exitCode = 2; }`;
    const argv = wired ? ['bin/pending-hooks.js', 'bench', ...args] : ['--input-type=module', '-e', shim, 'bench', ...args];
    const child = spawn(process.execPath, argv, { env: { ...process.env, STREAM_API_SECRET: '', STREAM_API_KEY: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stdout, stderr };
  }

  it('runs as a child process, signs with STREAM_API_SECRET and writes both files', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ph-bench-'));
    const { code, stdout, stderr } = await cli(
      ['--url', server.url, '--mode', 'twirp-protobuf', '--api-key', appKey, '--connections', '2', '--duration', '1.5', '--out', out],
      { STREAM_API_SECRET: appSecret },
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/\[1s\/1\.5s\] .* req\/s/);
    expect(stdout).toMatch(/pending-hooks bench: twirp-protobuf → /);
    expect(stdout).toMatch(/non-2xx {6}0/);
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^bench-twirp-protobuf-\d{8}-\d{6}\.html$/);
    expect(files[1]).toMatch(/^bench-twirp-protobuf-\d{8}-\d{6}\.json$/);
    const json = JSON.parse(await readFile(join(out, files[1]!), 'utf8')) as LoadResult;
    expect(json.requests).toBeGreaterThan(0);
    expect(json.non2xx).toBe(0);
  });

  it('exits non-zero with a clear message on bad input', async () => {
    const [connections, mode, noSecret] = await Promise.all([
      cli(['--url', server.url, '--secret', 's', '--connections', 'many']),
      cli(['--url', server.url, '--secret', 's', '--mode', 'grpc']),
      cli(['--url', server.url, '--duration', '1']),
    ]);
    expect(connections.code).not.toBe(0);
    expect(connections.stderr).toMatch(/--connections must be a positive integer, got "many"/);
    expect(mode.code).not.toBe(0);
    expect(mode.stderr).toMatch(/argument 'grpc' is invalid. Allowed choices are rest, twirp-protobuf, twirp-json/);
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toMatch(/no secret to sign with: pass --secret or set STREAM_API_SECRET/);
  });
});
