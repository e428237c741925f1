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
 *
 * Connect: when `createPendingHooks` has a `connect` option (bench/lib/connect-support.ts)
 * it is turned on with `connect: {}` and the path that answers a Connect unary call is
 * found with `app.inject` (a signed Connect unary call, `application/proto`, that must get the
 * right decision back) and announced as `CONNECT <path>` (else `CONNECT n/a <why>`).
 */
import { fromBinary } from '@bufbuild/protobuf';
import pino from 'pino';
import { createPendingHooks, createRedisDedupeStore, createServer, decide, type PendingHooksOptions } from '../../src/index.js';
import { Action, PendingMessageResponseSchema } from '../../src/gen/pendingmessage/v1/pending_message_pb.js';
import { announce, benchApiKey, benchSecret, decideText, serverHost, serverPort, twirpService } from '../lib/common.js';
import { connectOptionInSource } from '../lib/connect-support.js';
import { buildPayloads } from '../lib/payloads.js';

const withConnect = connectOptionInSource();
const options: PendingHooksOptions = {
  apiKey: benchApiKey,
  apiSecret: benchSecret,
  logger: pino({ level: 'warn' }, pino.destination(2)),
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
if (withConnect) (options as Record<string, unknown>).connect = {};

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

async function findConnectPath(): Promise<string> {
  if (!withConnect) return 'n/a createPendingHooks has no connect option (src/pending-hooks.ts)';
  const candidates = new Set<string>();
  // The transport lists its paths (`hooks.connect.paths`); older shapes are guessed below.
  const served = (hooks as unknown as { connect?: { paths?: readonly string[] } }).connect?.paths ?? [];
  for (const path of served) if (path.endsWith('/PassOnPendingMessage')) candidates.add(path);
  const routes = hooks.pipeline.routes as readonly { path: string; family: { name: string } }[];
  for (const route of routes) {
    if (route.family.name !== 'rest' && route.family.name !== 'twirp' && route.path.endsWith('/PassOnPendingMessage')) candidates.add(route.path);
  }
  const prefix = (hooks.options as unknown as Record<string, unknown>).connectPrefix;
  if (typeof prefix === 'string') candidates.add(`${prefix}/${twirpService}/PassOnPendingMessage`);
  candidates.add(`/${twirpService}/PassOnPendingMessage`);
  candidates.add(`/connect/${twirpService}/PassOnPendingMessage`);
  const payloads = buildPayloads(1);
  const tried: string[] = [];
  for (const path of candidates) {
    const response = await app.inject({
      method: 'POST',
      url: path,
      headers: {
        'content-type': 'application/proto',
        'connect-protocol-version': '1',
        'x-signature': payloads.protobuf.signatures[0]!,
        'x-api-key': benchApiKey,
        'x-webhook-id': 'connect-probe',
      },
      payload: payloads.protobuf.bodies[0]!,
    });
    tried.push(`${path} → ${response.statusCode}`);
    if (response.statusCode !== 200) continue;
    try {
      const answer = fromBinary(PendingMessageResponseSchema, response.rawPayload);
      const want = payloads.expected[0] === 'delete' ? Action.DELETE : Action.COMMIT;
      if (answer.action === want) return path;
      tried.push(`${path}: action ${answer.action}, expected ${want}`);
    } catch (error) {
      tried.push(`${path}: answer is not a PendingMessageResponse (${(error as Error).message})`);
    }
  }
  return `n/a connect option present but no Connect unary path answered: ${tried.join('; ')}`;
}

const connect = await findConnectPath();
await app.listen({ host: serverHost, port: serverPort() });
announce((app.server.address() as { port: number }).port, { CONNECT: connect });
