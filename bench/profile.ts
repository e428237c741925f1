/**
 * CPU profile of one contender under the benchmark's closed-loop load:
 *
 *   npx tsx bench/profile.ts [--row ph-rest] [--seconds 10] [--top 25] [--interval-us 100]
 *
 * Starts the row's server with `node --cpu-prof` (pinned to CPU 0; this process pins itself
 * to CPU 1), warms it up, loads it for `--seconds`, stops it, and summarizes only the samples
 * taken during the measured load (startup and warm-up are left out): self time by function,
 * inclusive time by function, and self time by module/package. The raw .cpuprofile is kept
 * under bench/out/profiles/ (open it in Chrome DevTools → Performance, or speedscope).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, describeFailure, failed } from './lib/load.js';
import { hasTaskset } from './lib/machine.js';
import { buildPayloads } from './lib/payloads.js';
import { probedTarget } from './lib/probe.js';
import { rows } from './lib/rows.js';
import { repoRoot, startServer } from './lib/server-process.js';
import { startRedis } from './lib/redis-process.js';
import { fmtInt, fmtMs } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    row: { type: 'string', default: 'ph-rest' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
    'interval-us': { type: 'string', default: '100' },
    connections: { type: 'string', default: '50' },
  },
  strict: true,
});

const row = rows.find((candidate) => candidate.id === args.row);
if (!row) throw new Error(`unknown row ${args.row}; one of ${rows.map((r) => r.id).join(', ')}`);
const pin = hasTaskset() && cpus().length >= 2;
if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const dir = join(repoRoot, 'bench/out/profiles', `${row.id}-${Date.now()}`);
mkdirSync(dir, { recursive: true });
const payloads = buildPayloads(2000);
// The applied rows' helpers, on the load generator's CPU as in bench/run.ts.
const env: Record<string, string> = { ...row.env };
const mock = row.needs?.mockApi ? await startServer({ script: 'mock-api', cpu: pin ? 1 : undefined }) : undefined;
if (mock) env.PH_BENCH_API_URL = `http://127.0.0.1:${mock.port}`;
const redis = row.needs?.redis ? await startRedis(pin ? 1 : undefined) : undefined;
if (redis) env.PH_BENCH_REDIS_URL = redis.url;
const server = await startServer({ script: row.script, serveArgs: row.serveArgs, env, cpu: pin ? 0 : undefined, cpuProfileDir: dir, cpuProfileIntervalUs: Number(args['interval-us']) });
let window: [number, number];
try {
  const target = await probedTarget(row, server, payloads);
  const connections = Number(args.connections);
  await closedLoop(target, { connections, seconds: Number(args.warmup), tag: 'profile-warm' });
  const start = Number(process.hrtime.bigint() / 1000n);
  const result = await closedLoop(target, { connections, seconds: Number(args.seconds), tag: 'profile' });
  window = [start, Number(process.hrtime.bigint() / 1000n)];
  if (failed(result)) throw new Error(describeFailure(result));
  console.log(`${row.label}: ${fmtInt(result.rps)} req/s, p99 ${fmtMs(result.latency.p99)} (with the profiler on: slower than in the suite)`);
} finally {
  await server.stop();
  await mock?.stop();
  await redis?.stop();
}

// --- summarize ---
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (!url) return '';
  return url.startsWith('/') ? relative(repoRoot, url) : url;
}

function moduleOf(frame: CallFrame): string {
  const file = where(frame);
  if (!file) return frame.functionName.startsWith('(') ? frame.functionName : '(native / V8 builtins)';
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return `npm: ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (file.startsWith('node:')) return `node: ${file.slice(5).split('/').slice(0, 2).join('/')}`;
  return file;
}

// tsx serves .ts files transpiled onto few lines: their line numbers mean nothing, leave them out.
const key = (frame: CallFrame) => {
  const file = where(frame);
  const line = frame.url && !file.endsWith('.ts') ? `:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}  ${file}${line}`;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const modules = new Map<string, number>();
let total = 0;
let time = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  time += profile.timeDeltas[i]!;
  if (time < window![0] || time > window![1]) continue;
  const delta = profile.timeDeltas[i + 1] ?? 0;
  const node = byId.get(profile.samples[i]!)!;
  total += delta;
  self.set(key(node.callFrame), (self.get(key(node.callFrame)) ?? 0) + delta);
  modules.set(moduleOf(node.callFrame), (modules.get(moduleOf(node.callFrame)) ?? 0) + delta);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const frameKey = key(byId.get(id)!.callFrame);
    if (seen.has(frameKey)) continue;
    seen.add(frameKey);
    inclusive.set(frameKey, (inclusive.get(frameKey) ?? 0) + delta);
  }
}

const top = Number(args.top);
const pct = (value: number) => `${((value / total) * 100).toFixed(1)}%`;
const table = (title: string, map: Map<string, number>, filter: (name: string) => boolean = () => true) => {
  console.log(`\n### ${title}\n\n| share | function / module |\n| ---: | --- |`);
  for (const [name, value] of [...map.entries()].filter(([name]) => filter(name)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${pct(value)} | ${name.replace(/\|/g, '/')} |`);
  }
};
console.log(`\nprofile: ${relative(repoRoot, join(dir, file))} (${(total / 1e6).toFixed(1)} s of samples in the measured window)`);
table('self time by module', modules);
table('self time by function', self);
table('inclusive time by function (frames from src/, dist/ and the framework libraries)', inclusive, (name) => /\s(src\/|dist\/|bench\/|node_modules\/(fastify|pino|zod|@bufbuild|@connectrpc|find-my-way|light-my-request|avvio))/.test(name));
