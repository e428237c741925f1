/**
 * Server CPU per callback at a fixed request rate, for rows of the benchmark:
 *
 *   npx tsx bench/cpu-cost.ts [--rows floor,ph-rest,ph-serve-default] [--rate 4000] [--seconds 6] [--rounds 3]
 *
 * Throughput ratios need a quiet machine; CPU time per answered callback at a rate every row
 * can serve is far less sensitive to other processes (they take turns on the CPU, they do not
 * change what one callback costs), so it tells where a row's time goes while the machine is
 * shared. Each round starts a fresh server per row (pinned to CPU 0, this process to CPU 1),
 * warms it up, then sends `--rate` signed callbacks a second (open loop) and divides the
 * server's CPU seconds (/proc) by the answers. The median of the rounds is printed with the
 * ratio to the first row.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { describeFailure, failed, openLoop } from './lib/load.js';
import { hasTaskset } from './lib/machine.js';
import { buildPayloads } from './lib/payloads.js';
import { probedTarget } from './lib/probe.js';
import { rows } from './lib/rows.js';
import { startServer } from './lib/server-process.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: 'floor,node-http-hmac,ph-rest,ph-serve-warn,ph-serve-default' },
    rate: { type: 'string', default: '4000' },
    seconds: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
  },
  strict: true,
});

const chosen = args.rows.split(',').map((id) => {
  const row = rows.find((candidate) => candidate.id === id);
  if (!row) throw new Error(`unknown row ${id}; one of ${rows.map((r) => r.id).join(', ')}`);
  return row;
});
const pin = hasTaskset() && cpus().length >= 2;
if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const payloads = buildPayloads(2000);
const perRow = new Map<string, number[]>(chosen.map((row) => [row.id, []]));
// The applied rows' mock Stream API, on the load generator's CPU as in bench/run.ts.
const mock = chosen.some((row) => row.needs?.mockApi) ? await startServer({ script: 'mock-api', cpu: pin ? 1 : undefined }) : undefined;

for (let round = 1; round <= Number(args.rounds); round++) {
  for (const row of chosen) {
    const env = { ...row.env, ...(row.needs?.mockApi && mock ? { PH_BENCH_API_URL: `http://127.0.0.1:${mock.port}` } : {}) };
    const server = await startServer({ script: row.script, serveArgs: row.serveArgs, env, cpu: pin ? 0 : undefined });
    try {
      const target = await probedTarget(row, server, payloads);
      await openLoop(target, { connections, seconds: Number(args.warmup), rate, tag: `cpu-warm-${round}` });
      const before = server.cpuSeconds();
      const result = await openLoop(target, { connections, seconds, rate, tag: `cpu-${round}` });
      const after = server.cpuSeconds();
      if (before === undefined || after === undefined) throw new Error('no CPU readings (/proc) on this system');
      if (failed(result)) {
        // A shed or failed answer costs less than a decided one: the round says nothing.
        process.stderr.write(`round ${round} ${row.id.padEnd(18)} left out: ${describeFailure(result)}\n`);
        continue;
      }
      const answered = result.ok;
      const micros = ((after - before) * 1e6) / answered;
      perRow.get(row.id)!.push(micros);
      process.stderr.write(`round ${round} ${row.id.padEnd(18)} ${micros.toFixed(1)} µs CPU per callback (${answered} answered)\n`);
    } finally {
      await server.stop();
    }
  }
}

await mock?.stop();

const median = (values: number[]) => (values.length === 0 ? NaN : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!);
const base = median(perRow.get(chosen[0]!.id)!);
console.log(`\nserver CPU per callback at ${rate} callbacks/s (median of ${args.rounds} rounds; ratio to ${chosen[0]!.id})\n`);
console.log('| row | µs CPU per callback | ratio | rounds |');
console.log('| --- | ---: | ---: | --- |');
for (const row of chosen) {
  const values = perRow.get(row.id)!;
  console.log(`| ${row.id} | ${median(values).toFixed(1)} | ${(median(values) / base).toFixed(2)}× | ${values.map((v) => v.toFixed(1)).join(', ')} |`);
}
