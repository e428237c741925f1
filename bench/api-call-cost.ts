/**
 * CPU per Stream API call in process (pinned to CPU 0, the mock API on CPU 1), 50 calls in flight:
 * undici alone, with an AbortSignal, and pending-hooks' applyDecision on its two paths (the
 * client's request-scope method, and the scope's AbortSignal every other StreamApi gets).
 *
 *   npx tsx bench/api-call-cost.ts [rounds]
 */
import { Pool } from 'undici';
import { startServer } from './lib/server-process.js';
import { createStreamApiClient } from '../src/stream-api/stream-api-client.js';
import { execFileSync } from 'node:child_process';
import { applyDecision } from '../src/decision/apply-decision.js';
import { RequestScope } from '../src/core/request-scope.js';
execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
const mock = await startServer({ script: 'mock-api', cpu: 1 });
const url = `http://127.0.0.1:${mock.port}`;
const api = createStreamApiClient({ apiKey: 'bench-key', secret: 'bench-secret-4f1c9a7e2b8d6053', baseUrl: url, connections: 1000 });
const pool = new Pool(url, { connections: 1000 });
const headers = { authorization: 'x.y.z', 'stream-auth-type': 'jwt', accept: 'application/json', 'content-type': 'application/json' };
const retry = { baseBackoffMs: 25, maxBackoffMs: 250 };
// The same client seen as a plain StreamApi (no scope method): the AbortController path.
const signalOnly = { commitMessage: api.commitMessage, hardDeleteMessage: api.hardDeleteMessage, close: api.close };
const results = new Map<string, number[]>();
async function run(name: string, one: (i: number) => Promise<unknown>, seconds = 2) {
  let n = 0; const end = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 50 }, async () => { while (performance.now() < end) { await one(n++); } }));
  const cpu = process.cpuUsage(cpu0);
  const per = (cpu.user + cpu.system) / n;
  results.set(name, [...(results.get(name) ?? []), per]);
}
const variants: Record<string, (i: number) => Promise<unknown>> = {
  'raw, no signal': async (i) => { const res = await pool.request({ method: 'POST', path: `/messages/m${i}/commit?api_key=bench-key`, headers, body: '{}' }); await res.body.dump(); },
  'raw, AbortController signal': async (i) => { const c = new AbortController(); const res = await pool.request({ method: 'POST', path: `/messages/m${i}/commit?api_key=bench-key`, headers, body: '{}', signal: c.signal }); await res.body.dump(); },
  'raw, signal + timer': async (i) => { const c = new AbortController(); const t = setTimeout(() => c.abort(), 400); const res = await pool.request({ method: 'POST', path: `/messages/m${i}/commit?api_key=bench-key`, headers, body: '{}', signal: c.signal }); await res.body.dump(); clearTimeout(t); },
  'applyDecision (scope path)': (i) => applyDecision(api, 'commit', `m${i}`, new RequestScope(performance.now() + 400), retry),
  'applyDecision (AbortSignal path)': (i) => applyDecision(signalOnly, 'commit', `m${i}`, new RequestScope(performance.now() + 400), retry),
};
for (let r = 0; r < Number(process.argv[2] ?? 3); r++) for (const [name, fn] of Object.entries(variants)) await run(name, fn);
for (const [name, per] of results) console.log(name.padEnd(30), per.map((v) => v.toFixed(1)).join(' / '), 'µs CPU per call; median', [...per].sort((a, b) => a - b)[per.length >> 1]!.toFixed(1));
await api.close(); await pool.close(); await mock.stop();
