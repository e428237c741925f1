/**
 * CPU per `decision` log line for the logging options considered as the default
 * (bench/RESULTS.md, "Default logging"): `npx tsx bench/log-cost.ts [--lines N]`.
 * Each option runs in its own process, pinned to CPU 0 when taskset exists, writing to a pipe
 * this process drains (as a container runtime or process manager reads stdout), 50 lines per
 * event-loop turn (50 connections' callbacks).
 */
import { execFileSync, spawn } from 'node:child_process';
import pino, { type Logger } from 'pino';
import type { Outcome } from '../src/decision/decision.js';
import { decisionFields, type DecisionLine } from '../src/dispatch/decision-line.js';
import { createDefaultLogger } from '../src/observe/default-logger.js';

const modes = ['level-warn', 'pino-sync', 'pino-async-4096', 'pino-worker', 'batch', 'default'] as const;
type Mode = (typeof modes)[number];

function logger(mode: Mode): Logger {
  switch (mode) {
    case 'level-warn':
      return pino({ level: 'warn' });
    case 'pino-sync':
      return pino({ level: 'info' });
    case 'pino-async-4096':
      return pino({ level: 'info' }, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
    case 'pino-worker':
      return pino({ level: 'info' }, pino.transport({ target: 'pino/file', options: { destination: 1 } }));
    case 'batch':
    case 'default':
      return createDefaultLogger(undefined).logger;
  }
}

/** The default: the dispatcher's own decision line (src/dispatch/decision-line.ts), written field by field after the turn's answers. */
const infoLineLater = createDefaultLogger(undefined).infoLineLater!;
const committed = { action: 'commit', timedOut: false } as Outcome;
const dryRun = { status: 'applied', attempts: 0, detail: 'dry run' } as const;

async function child(mode: Mode, lines: number): Promise<void> {
  const log = logger(mode);
  const start = process.cpuUsage();
  let i = 0;
  await new Promise<void>((resolve) => {
    const turn = () => {
      for (let j = 0; j < 50 && i < lines; j++, i++) {
        // Latencies vary as real ones do: a constant would hit V8's number-to-string cache every time.
        const latencyMs = Math.round((0.05 + (i % 4999) * 0.0173) * 100) / 100;
        if (mode === 'default') {
          const line: DecisionLine = { webhookId: `wh-${i}-5b1c2d3e-aaaa-bbbb`, messageId: `msg-${i}`, apiKey: 'bench-key', transport: 'rest', attempt: 1, outcome: committed, report: dryRun, replayed: false, latencyMs, budgetLeftMs: Math.round((500 - latencyMs) * 100) / 100 };
          infoLineLater(line, decisionFields, 'decision');
          continue;
        }
        log.info(
          { webhookId: `wh-${i}-5b1c2d3e-aaaa-bbbb`, messageId: `msg-${i}`, apiKey: 'bench-key', transport: 'rest', attempt: 1, action: 'commit', reason: undefined, timedOut: false, applied: 'dry_run', apiCalls: 0, replayed: false, latencyMs, budgetLeftMs: Math.round((500 - latencyMs) * 100) / 100 },
          'decision',
        );
      }
      if (i < lines) setImmediate(turn);
      else resolve();
    };
    turn();
  });
  const cpu = process.cpuUsage(start);
  process.stderr.write(`${mode.padEnd(16)} ${((cpu.user + cpu.system) / lines).toFixed(2)} µs CPU per line (user ${(cpu.user / lines).toFixed(2)}, system ${(cpu.system / lines).toFixed(2)})\n`);
  // The worker transport's thread keeps writing after the last line: let it finish.
  if (mode === 'pino-worker') await new Promise((resolve) => setTimeout(resolve, 500));
}

const lineArg = process.argv.indexOf('--lines');
const lines = lineArg > 0 ? Number(process.argv[lineArg + 1]) : 200_000;
const only = process.argv.indexOf('--mode');
if (only > 0) await child(process.argv[only + 1] as Mode, lines);
else {
  let pin: string[] = [];
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    pin = ['taskset', '-c', '0'];
  } catch {}
  for (const mode of modes) {
    const args = [process.execPath, '--import', 'tsx', 'bench/log-cost.ts', '--mode', mode, '--lines', String(lines)];
    const proc = spawn(pin[0] ?? args[0]!, [...pin.slice(1), ...(pin.length ? args : args.slice(1))], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    proc.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await new Promise((resolve) => proc.once('close', resolve));
    if (mode !== 'level-warn' && bytes < lines * 100) process.stderr.write(`  (${mode}: only ${bytes} bytes arrived)\n`);
  }
}
