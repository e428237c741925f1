/**
 * `npm run attack` — the hostile-traffic suite against a server, with a summary and exit code 1
 * when a bound is broken.
 *
 *   npm run attack                                  # starts bench/attack/target-server.ts itself
 *   npm run attack -- --url http://host:3000 --secret S [--api-key K]
 *
 * Options: --case a,b (default all: see bench/attack/cases.ts), --attackers N (4), --seconds S (4),
 * --probe-rate R (25 signed callbacks a second), --rest-path, --twirp-path, --json FILE.
 * Against your own server the probe needs --secret; the server-side bounds (CPU per request,
 * event-loop delay, RSS) are measured only on the target server, which exposes its stats.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { attackCases, type AttackTarget } from './cases.js';
import { bounds, describe, measureBaseline, runAttack, violations, type Baseline, type ServerStats } from './run-attack.js';
import { startTarget, type RunningTarget } from './start-target.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    secret: { type: 'string' },
    'api-key': { type: 'string' },
    case: { type: 'string' },
    attackers: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '4' },
    'probe-rate': { type: 'string', default: '25' },
    'rest-path': { type: 'string', default: '/PassOnPendingMessage' },
    'twirp-path': { type: 'string', default: '/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage' },
    json: { type: 'string' },
  },
});

function positive(value: string, what: string): number {
  const number = Number(value);
  if (!(number > 0)) {
    console.error(`attack: --${what} must be a positive number (got ${JSON.stringify(value)})`);
    process.exit(2);
  }
  return number;
}

const all = attackCases();
const wanted = values.case?.split(',').map((name) => name.trim());
const unknown = wanted?.filter((name) => !all.some((c) => c.name === name));
if (unknown?.length) {
  console.error(`attack: unknown case ${unknown.join(', ')} (cases: ${all.map((c) => c.name).join(', ')})`);
  process.exit(2);
}
const cases = wanted ? all.filter((c) => wanted.includes(c.name)) : all;

let own: RunningTarget | undefined;
let url: URL;
let stats: (() => Promise<ServerStats>) | undefined;
if (values.url) {
  try {
    url = new URL(values.url);
  } catch {
    console.error(`attack: --url is not a URL: ${values.url}`);
    process.exit(2);
  }
} else {
  console.log('starting the target server (bench/attack/target-server.ts) …');
  own = await startTarget();
  url = own.url;
  stats = own.stats;
}
const target: AttackTarget = {
  host: url.hostname,
  port: Number(url.port || 80),
  secret: values.secret ?? own?.secret,
  apiKey: values['api-key'] ?? own?.apiKey,
  restPath: values['rest-path']!,
  twirpPath: values['twirp-path']!,
};

try {
  let baseline: Baseline | undefined;
  if (stats && target.secret) {
    console.log('measuring a signed callback’s server CPU (baseline) …');
    baseline = await measureBaseline(target, stats);
    console.log(`  ${baseline.cpuPerCallbackMs.toFixed(3)} ms per 1 KB callback, ${baseline.cpuPerMbMs.toFixed(2)} ms per MB of 1 MiB callbacks`);
  }
  console.log(`attacking ${url.origin}: ${cases.length} cases`);
  const results = await runAttack(
    {
      target,
      cases,
      attackers: positive(values.attackers!, 'attackers'),
      seconds: positive(values.seconds!, 'seconds'),
      probeRate: positive(values['probe-rate']!, 'probe-rate'),
      ...(stats ? { stats } : {}),
      progress: (line) => console.log(line),
    },
    baseline,
  );
  console.log(`\nsummary (bounds: real callbacks p99 < ${bounds.probeP99Ms} ms; server loop delay p99 < ${bounds.eventLoopDelayP99Ms} ms, RSS growth < ${bounds.rssGrowthMb} MB, CPU ≤ ${bounds.costRatio}× a signed callback)`);
  let broken = 0;
  for (const result of results) {
    const found = violations(result);
    broken += found.length;
    console.log(`${found.length ? 'FAIL' : 'ok  '} ${result.name.padEnd(24)} ${describe(result)}`);
    for (const line of found) console.log(`       ${line}`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ target: url.origin, baseline, results }, null, 2));
  console.log(broken ? `\n${broken} bound(s) broken` : '\nevery bound held');
  process.exitCode = broken ? 1 : 0;
} finally {
  await own?.stop();
}
