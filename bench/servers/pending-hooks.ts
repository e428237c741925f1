/**
 * pending-hooks as a user would run it: `createPendingHooks` + `createServer` (fastify), the
 * trivial handler, signatures checked, in dry run (no `api`: decisions are answered, not
 * applied through Stream's API) with the logger at `warn` (the per-callback `decision` line
 * is at `info`). One process serves REST, Twirp protobuf and Twirp JSON; bench/run.ts starts
 * a fresh one per row and round.
 *
 * The applied rows (issue #12): `PH_BENCH_API_URL` points `api` at a mock Stream API
 * (bench/servers/mock-api.ts), so every decision is really applied (inline: the answer waits
 * for the commit / hard delete); `PH_BENCH_REDIS_URL` adds `createRedisDedupeStore({ url })`.
 * bench/shedding.ts also sets `PH_BENCH_HANDLER_MS` (`min-max`: the handler sleeps that long)
 * and `PH_BENCH_SHEDDING` (`off`, `fixed` — the 1000 bound without learning —, or
 * `maxInFlight/maxEventLoopDelayMs[/fixed]`; default: the defaults).
 * Connect is on (`connect: {}`, its default prefix: bench/lib/common.ts `connectPath`).
 */
import pino from 'pino';
import { createPendingHooks, createRedisDedupeStore, createServer, decide, type PendingHooksOptions } from 'pending-hooks';
import { announce, benchApiKey, benchSecret, decideText, serverHost, serverPort } from '../lib/common.js';

const options: PendingHooksOptions = {
  apiKey: benchApiKey,
  apiSecret: benchSecret,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  connect: {},
  // The ph-rest-metrics row: the same server counting Prometheus metrics.
  ...(process.env.PH_BENCH_METRICS === '1' ? { metrics: true } : {}),
  ...(process.env.PH_BENCH_API_URL ? { api: { baseUrl: process.env.PH_BENCH_API_URL } } : {}),
  ...(process.env.PH_BENCH_REDIS_URL ? { dedupe: createRedisDedupeStore({ url: process.env.PH_BENCH_REDIS_URL }) } : {}),
  ...(process.env.PH_BENCH_SHEDDING ? { shedding: sheddingFromEnv(process.env.PH_BENCH_SHEDDING) } : {}),
};

function sheddingFromEnv(value: string): PendingHooksOptions['shedding'] {
  if (value === 'off') return false;
  if (value === 'fixed') return { adaptive: false };
  // `maxInFlight/maxEventLoopDelayMs[/fixed]` (`,` also separates): a bound of your own, adaptive unless `fixed`.
  const [maxInFlight, maxEventLoopDelayMs, fixed] = value.split(/[,/]/);
  return { maxInFlight: Number(maxInFlight), ...(maxEventLoopDelayMs ? { maxEventLoopDelayMs: Number(maxEventLoopDelayMs) } : {}), ...(fixed === 'fixed' ? { adaptive: false } : {}) };
}

/** `PH_BENCH_HANDLER_MS=50-300`: the handler sleeps a uniform random time in that range. */
const handlerMs = process.env.PH_BENCH_HANDLER_MS?.split('-').map(Number) as [number, number] | undefined;
/** `PH_BENCH_HANDLER_CPU_MS=1`: the handler also computes this long (a classifier, a big blocklist) before it waits. */
const handlerCpuMs = Number(process.env.PH_BENCH_HANDLER_CPU_MS ?? 0);

const hooks = createPendingHooks(options);
hooks.on('PassOnPendingMessage', (event) => {
  const decision = decideText(event.message.text);
  const answer = decision.action === 'delete' ? decide.delete(decision.reason) : decide.commit();
  if (handlerCpuMs > 0) {
    const until = performance.now() + handlerCpuMs;
    while (performance.now() < until) {
      // computing
    }
  }
  if (!handlerMs) return answer;
  const ms = handlerMs[0] + Math.random() * (handlerMs[1] - handlerMs[0]);
  return new Promise<typeof answer>((resolve) => setTimeout(resolve, ms, answer));
});
const app = await createServer(hooks);

await app.listen({ host: serverHost, port: serverPort() });
announce((app.server.address() as { port: number }).port);
