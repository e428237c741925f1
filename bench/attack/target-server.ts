/**
 * The server the attack suite attacks: pending-hooks with its defaults (dry run, a handler that
 * commits), plus `GET /__attack/stats` (CPU, RSS, event-loop delay since the last read) for the
 * suite's bounds. Prints one JSON line `{"url": …}` once listening.
 *
 * Env: ATTACK_API_KEY, ATTACK_API_SECRET (defaults below), PORT (default 0).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { createPendingHooks, createServer, decide } from '../../src/index.js';

const apiKey = process.env.ATTACK_API_KEY ?? 'attack-key';
const apiSecret = process.env.ATTACK_API_SECRET ?? 'attack-secret';
// Warnings and errors only: refusals are rate-limited lines; decisions at info would be the probe's.
const hooks = createPendingHooks({ apiKey, apiSecret, logger: pino({ level: 'warn' }) });
hooks.on('PassOnPendingMessage', () => decide.commit());
const app = await createServer(hooks, { handleSignals: true });
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
app.get('/__attack/stats', async () => {
  const cpu = process.cpuUsage();
  const stats = {
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
    // The histogram counts the sampling timer's resolution in: subtract it.
    eventLoopDelayP99Ms: Math.max(0, Math.round((delay.percentile(99) / 1e6 - 10) * 100) / 100),
    eventLoopDelayMaxMs: Math.max(0, Math.round((delay.max / 1e6 - 10) * 100) / 100),
  };
  delay.reset();
  return stats;
});
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${JSON.stringify({ url, apiKey })}\n`);
