/**
 * Soak (issue #12 item 7): `npm run soak` — 10 minutes by default; `--minutes N` or `--seconds N`.
 *
 *   npm run soak -- --seconds 60 [--rate 100] [--instances 2] [--json out.json]
 *
 * Two `pending-hooks serve` processes (bin/pending-hooks.js, the CLI as users run it) share a
 * redis-server started here and apply decisions through the emulator's mock Stream API (in this
 * process, which records every commit and delete). Signed callbacks go through the emulator's
 * `sendCallback` (Stream's retry rules) at `--rate` per second, each message to one instance, and
 * one in ten also delivered to the other instance at the same time (the same webhook id: the
 * cross-instance dedupe). Handlers: commit, delete on a bad word, one in ten slower than the
 * budget (the fallback, keep_pending). Faults, in a cycle of 30 s (shortened for short runs):
 * an API 5xx burst (50 calls answered 503), a slow phase (handlers and the API delayed), a Redis
 * restart (stopped 2 s). Every 2 s the server processes' RSS (/proc), heap used and event-loop
 * delay p99 (their /metrics) are sampled; progress every 5 s.
 *
 * Fails (exit 1) when, after the warm-up (the first 30% of the run, at least 10 s), RSS or heap
 * grew more than 10% (`--max-growth`; and more than 8 MB) or the event-loop delay more than 10% (and 5 ms) —
 * the median of the first three samples after warm-up against the median of the last three — or
 * when a decision was lost (a message answered commit/delete not applied exactly once) or
 * doubled (applied more than once), or a keep_pending answer was applied.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import { createMockStreamApi, sampleMessage, samplePayload, sendCallback } from '../../src/emulator/index.js';
import { accepts, freePort } from '../lib/ports.js';
import { redisServerPath } from '../lib/redis-process.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string', default: '100' },
    instances: { type: 'string', default: '2' },
    json: { type: 'string' },
    'max-growth': { type: 'string', default: '10' },
    quiet: { type: 'boolean', default: false },
  },
});
const durationS = args.seconds ? Number(args.seconds) : Number(args.minutes ?? 10) * 60;
const rate = Number(args.rate);
const instanceCount = Number(args.instances);
const maxGrowth = Number(args['max-growth']) / 100;
if (!(durationS > 0) || !(rate > 0) || !(instanceCount >= 1)) throw new RangeError('--seconds/--minutes, --rate and --instances must be positive');
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const apiKey = 'soak-key';
const secret = 'soak-secret-5b7d2c91e0';
const timeoutMs = 500;
const log = (line: string) => process.stdout.write(`${line}\n`);

// --- the mock Stream API, Redis, the servers ---
const mock = await createMockStreamApi({ apps: [{ apiKey, secret }] });
const dir = mkdtempSync(join(tmpdir(), 'ph-soak-'));
const handlersModule = join(dir, 'handlers.mjs');
writeFileSync(
  handlersModule,
  `
const sleep = (ms, signal) => new Promise((resolve) => { const t = setTimeout(resolve, ms); signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true }); });
export default {
  async PassOnPendingMessage(event, { signal }) {
    const text = event.message.text ?? '';
    // "[slow]": past the handler's deadline, so the fallback (keep_pending) is applied.
    if (text.includes('[slow]')) await sleep(700, signal);
    else await sleep(5 + Math.random() * 40, signal);
    return /\\bspam\\b/.test(text) ? { action: 'delete', reason: 'spam' } : { action: 'commit' };
  },
};
`,
);


if (!redisServerPath) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
const redisPort = await freePort();
let redis: ChildProcess | undefined;
async function startRedis(): Promise<void> {
  redis = spawn(redisServerPath!, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  while (!(await accepts(redisPort))) await new Promise((resolve) => setTimeout(resolve, 20));
}
async function stopRedis(): Promise<void> {
  const running = redis;
  redis = undefined;
  if (!running || running.exitCode !== null) return;
  const gone = once(running, 'exit');
  running.kill('SIGKILL');
  await gone;
}
await startRedis();

interface Instance {
  child: ChildProcess;
  url: string;
  output: string;
}
async function serve(): Promise<Instance> {
  const child = spawn(process.execPath, ['bin/pending-hooks.js', 'serve', handlersModule, '--port', '0', '--base-url', mock.url, '--redis-url', `redis://127.0.0.1:${redisPort}`, '--timeout-ms', String(timeoutMs)], {
    cwd: repoRoot,
    env: { ...process.env, STREAM_API_KEY: apiKey, STREAM_API_SECRET: secret, LOG_LEVEL: 'info', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const instance: Instance = { child, url: '', output: '' };
  // Keep the start-up lines and the warnings/errors; the per-callback info lines are only counted.
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    if (instance.url === '' || /"level":(40|50|60)/.test(text)) instance.output = (instance.output + text).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const started = performance.now();
  let match: RegExpExecArray | null = null;
  while (!(match = /"address":"(http:\/\/[^"]+)"/.exec(instance.output))) {
    if (child.exitCode !== null || performance.now() - started > 30_000) throw new Error(`serve did not start:\n${instance.output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  instance.url = match[1]!;
  return instance;
}
const instances: Instance[] = [];
for (let i = 0; i < instanceCount; i++) instances.push(await serve());

function cleanup(): void {
  for (const instance of instances) instance.child.kill('SIGKILL');
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.once('exit', cleanup);
process.once('SIGINT', () => process.exit(130));

// --- traffic ---
interface Sent {
  id: string;
  final: Promise<{ status: number | undefined; action: string | undefined; timedOut: boolean | undefined }[]>;
}
const sent: Sent[] = [];
const statusCounts: Record<string, number> = {};
let answered = 0;
let seq = 0;
const agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 });

function sendOne(): void {
  const n = seq++;
  const kind = n % 10;
  const message = sampleMessage({ text: kind === 3 ? 'buy spam now' : kind === 7 ? 'please wait [slow]' : `hello number ${n}` }, `soak-${n}`);
  mock.addPendingMessage(message);
  const payload = samplePayload(message);
  const webhookId = `soak-wh-${n}`;
  const first = n % instances.length;
  const targets = n % 10 === 5 && instances.length > 1 ? [first, (first + 1) % instances.length] : [first];
  const final = Promise.all(
    targets.map(async (index) => {
      const result = await sendCallback({ url: instances[index]!.url, payload, secret, apiKey, webhookId, dispatcher: agent, backoffMs: 200 });
      answered++;
      const key = String(result.status ?? 'none');
      statusCounts[key] = (statusCounts[key] ?? 0) + 1;
      return { status: result.status, action: result.answer?.action, timedOut: result.answer?.timedOut };
    }),
  );
  sent.push({ id: message.id, final });
}

// --- faults ---
const cycleS = Math.min(30, Math.max(9, durationS / 4));
const faultsApplied: string[] = [];
async function fault(at: number): Promise<void> {
  const phase = Math.floor(at) % Math.round(cycleS);
  const third = Math.round(cycleS / 3);
  if (phase === 0 && at >= 1) {
    mock.injectFaults({ status: 503, count: 50 });
    faultsApplied.push(`${at.toFixed(0)} s: API 5xx burst (50 calls)`);
  } else if (phase === third) {
    const undo = mock.injectFaults({ delayMs: 150, count: Math.round(rate * 2) });
    faultsApplied.push(`${at.toFixed(0)} s: slow API (150 ms, ~2 s)`);
    setTimeout(undo, 2000).unref();
  } else if (phase === 2 * third) {
    faultsApplied.push(`${at.toFixed(0)} s: Redis restart (down 2 s)`);
    await stopRedis();
    setTimeout(() => void startRedis(), 2000);
  }
}

// --- sampling ---
interface Sample {
  t: number;
  rss: number[];
  heap: number[];
  eld: number[];
}
const samples: Sample[] = [];
function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
/** One scrape: prom-client resets its event-loop histogram on every scrape, so a second one read right after shows 0. */
async function scrape(url: string): Promise<string> {
  try {
    return await (await fetch(`${url}/metrics`)).text();
  } catch {
    return '';
  }
}
function metricOf(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}
async function sample(t: number): Promise<Sample> {
  const s: Sample = { t, rss: [], heap: [], eld: [] };
  for (const instance of instances) {
    s.rss.push(rssOf(instance.child.pid!));
    const metrics = await scrape(instance.url);
    s.heap.push(metricOf(metrics, 'nodejs_heap_size_used_bytes'));
    s.eld.push(metricOf(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000);
  }
  samples.push(s);
  return s;
}
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

// --- the run ---
log(`soak: ${durationS} s, ${rate} callbacks/s, ${instances.length} serve instance(s) sharing redis :${redisPort}, mock API ${mock.url}; fault cycle ${cycleS.toFixed(0)} s`);
const start = performance.now();
let nextSecond = 1;
let lastProgress = 0;
let lastSample = -2;
await new Promise<void>((resolve) => {
  let due = 0;
  const tick = () => {
    const t = (performance.now() - start) / 1000;
    if (t >= durationS) return resolve();
    const target = Math.floor(t * rate);
    while (due < target) {
      sendOne();
      due++;
    }
    if (t >= nextSecond) {
      void fault(nextSecond);
      nextSecond++;
    }
    if (t - lastSample >= 2) {
      lastSample = t;
      void sample(t).then((s) => {
        if (args.quiet || t - lastProgress < 5) return;
        lastProgress = t;
        log(
          `  ${t.toFixed(0).padStart(4)} s  sent ${seq}  answered ${answered}  statuses ${JSON.stringify(statusCounts)}  ` +
            `RSS ${s.rss.map(mb).join(' / ')}  heap ${s.heap.map(mb).join(' / ')}  ELD p99 ${s.eld.map((v) => `${v.toFixed(1)} ms`).join(' / ')}`,
        );
      });
    }
    setTimeout(tick, 5);
  };
  tick();
});
log(`traffic stopped at ${seq} messages; waiting for the last answers and decisions…`);
const finals = await Promise.all(sent.map(async (s) => ({ id: s.id, answers: await s.final })));
if (!redis) await startRedis();
await new Promise((resolve) => setTimeout(resolve, 1500));

// --- checks ---
let lost = 0;
let doubled = 0;
let appliedAfterKeep = 0;
let notAnswered = 0;
const problems: string[] = [];
for (const { id, answers } of finals) {
  const applied = mock.commitCount(id);
  if (applied > 1) {
    doubled++;
    problems.push(`${id}: applied ${applied} times`);
    continue;
  }
  const decided = answers.find((a) => a.status === 200 && (a.action === 'commit' || a.action === 'delete'));
  const kept = answers.find((a) => a.status === 200 && a.action === 'keep_pending');
  if (decided) {
    if (applied !== 1) {
      lost++;
      problems.push(`${id}: answered ${decided.action}, applied ${applied} times`);
    }
  } else if (kept) {
    if (applied !== 0) {
      appliedAfterKeep++;
      problems.push(`${id}: answered keep_pending, applied ${applied} time(s)`);
    }
  } else notAnswered++;
}

const warmupS = Math.max(10, durationS * 0.3);
const after = samples.filter((s) => s.t >= warmupS);
const med = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const growth: string[] = [];
const growthLines: string[] = [];
if (after.length >= 6) {
  for (const [name, pick, floor, fmt] of [
    ['RSS', (s: Sample) => s.rss, 8 * 2 ** 20, mb],
    ['heap used', (s: Sample) => s.heap, 8 * 2 ** 20, mb],
    ['event-loop delay p99', (s: Sample) => s.eld, 5, (v: number) => `${v.toFixed(1)} ms`],
  ] as const) {
    for (let i = 0; i < instances.length; i++) {
      const first = med(after.slice(0, 3).map((s) => pick(s)[i]!));
      const last = med(after.slice(-3).map((s) => pick(s)[i]!));
      const change = (last - first) / first;
      growthLines.push(`  instance ${i + 1} ${name}: ${fmt(first)} → ${fmt(last)} (${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%)`);
      if (change > maxGrowth && last - first > floor) growth.push(`instance ${i + 1} ${name} grew ${(change * 100).toFixed(1)}% (${fmt(first)} → ${fmt(last)})`);
    }
  }
} else growthLines.push(`  too few samples after the ${warmupS.toFixed(0)} s warm-up to judge growth (${after.length})`);

const decisionsTotal = finals.length;
log('\n## soak summary\n');
log(`duration ${durationS} s, ${decisionsTotal} messages (${seq} callbacks sent, ${answered} answers incl. duplicate deliveries), ${instances.length} instances, rate ${rate}/s`);
log(`final statuses: ${JSON.stringify(statusCounts)}`);
log(`faults: ${faultsApplied.length} — ${faultsApplied.slice(0, 12).join('; ')}${faultsApplied.length > 12 ? '; …' : ''}`);
log(`mock API: ${mock.calls.filter((c) => c.action === 'commit').length} commit calls, ${mock.calls.filter((c) => c.action === 'delete').length} delete calls, ${mock.calls.filter((c) => c.injected).length} answered by injected faults`);
log(`decisions: lost ${lost}, doubled ${doubled}, keep_pending applied ${appliedAfterKeep}, never answered 2xx (Stream gave up; allowed, not a decision) ${notAnswered}`);
log(`growth after the ${warmupS.toFixed(0)} s warm-up (median of the first 3 vs the last 3 samples; limit +${(maxGrowth * 100).toFixed(0)}%):`);
for (const line of growthLines) log(line);
for (const problem of problems.slice(0, 10)) log(`  ✗ ${problem}`);
const failed = lost + doubled + appliedAfterKeep > 0 || growth.length > 0;
if (growth.length > 0) log(`GROWTH: ${growth.join('; ')}`);
for (const [i, instance] of instances.entries()) if (instance.child.exitCode !== null) log(`instance ${i + 1} exited (${instance.child.exitCode}):\n${instance.output.slice(-2000)}`);
log(failed ? '\nSOAK FAILED' : '\nsoak passed');
if (args.json) {
  writeFileSync(
    args.json,
    JSON.stringify({ durationS, rate, instances: instances.length, messages: decisionsTotal, statusCounts, lost, doubled, appliedAfterKeep, notAnswered, growth, growthLines, samples, faults: faultsApplied, failed }, null, 2),
  );
}
await agent.close();
await mock.close();
process.exit(failed ? 1 : 0);
