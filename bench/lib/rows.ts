import type { CallbackMode } from '../../src/emulator/callback-encoding.js';
import { connectPath, restPath, twirpPath } from './common.js';
import type { BenchPayloads, EncodedBodies } from './payloads.js';

/** A target a row is reported against (pending-hooks rows only). */
export interface RowTarget {
  /** Smallest req/s as a fraction of the floor's (of `against`'s when set). */
  minRatio: number;
  /** Largest p99 at 25% load above the floor's (`against`'s when set), in ms. */
  maxP99DeltaMs: number;
  /** The row both figures above are relative to, instead of the floor. */
  against?: string;
  /** Also at least `min` times the req/s of this row. */
  timesOf?: { row: string; min: number };
}

export interface RowSpec {
  id: string;
  label: string;
  /** bench/servers/<script>.ts */
  script: string;
  path: string;
  /** The bodies sent (the Connect row sends the `twirp-protobuf` bytes as `application/proto`). */
  mode: CallbackMode;
  headers: Record<string, string>;
  /** False for the floor: it checks no signature, so a bad one is not refused. */
  verifiesSignature: boolean;
  target?: RowTarget;
  /** `pending-hooks serve` from the built package instead of a bench/servers script (see StartOptions.serveArgs). */
  serveArgs?: string[];
  /** Extra environment of the row's server. */
  env?: Record<string, string>;
  /** What the row is, for the report. */
  about: string;
  /**
   * Helpers the row's server talks to, started by the runner on the load generator's CPU:
   * `mockApi` (bench/servers/mock-api.ts, one for the run; its URL in `PH_BENCH_API_URL`), `redis`
   * (a fresh redis-server per server start; its URL in `PH_BENCH_REDIS_URL`). Their CPU time is
   * measured and not counted as other processes'.
   */
  needs?: { mockApi?: boolean; redis?: boolean };
  /**
   * Open loop at `loadFraction` of this row's median closed-loop req/s instead of the floor's
   * (the applied rows: 25% of the floor would be most of their capacity, not 25% load).
   */
  openRateOf?: string;
  /** Another build of the repository to start the server from (a `--baseline` twin: bench/lib/baseline.ts); default this checkout. */
  from?: string;
}

const json = { 'content-type': 'application/json' };
const protobuf = { 'content-type': 'application/protobuf' };

export const rows: readonly RowSpec[] = [
  {
    id: 'floor',
    label: 'floor: bare fastify, JSON parse only (no signature)',
    script: 'floor',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: false,
    about: "fastify route, fastify's JSON parser, the trivial handler; no signature check",
  },
  {
    id: 'fastify-hmac',
    label: 'hand-written fastify (raw body, HMAC, JSON.parse)',
    script: 'fastify-hmac',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: 'raw Buffer body, HMAC-SHA256 with a prepared KeyObject, timingSafeEqual, JSON.parse',
  },
  {
    id: 'node-http-hmac',
    label: 'plain node:http by hand (raw body, HMAC, JSON.parse)',
    script: 'node-http-hmac',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: 'node:http request listener, no framework: body chunks, HMAC-SHA256 with a prepared KeyObject, timingSafeEqual, JSON.parse',
  },
  {
    id: 'express-stream-chat',
    label: 'express + stream-chat verifyWebhook',
    script: 'express-stream-chat',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: "express 5, express.raw(), new StreamChat(key, secret).verifyWebhook(body, sig), JSON.parse, res.send",
  },
  {
    id: 'twirp-ts',
    label: 'twirp-ts (protobuf, HMAC first)',
    script: 'twirp-ts',
    path: twirpPath,
    mode: 'twirp-protobuf',
    headers: protobuf,
    verifiesSignature: true,
    about: 'node:http, body read + HMAC, then twirp-ts (protobuf-ts messages) via req.rawBody',
  },
  {
    id: 'ph-rest',
    label: 'pending-hooks REST',
    script: 'pending-hooks',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    target: { minRatio: 0.85, maxP99DeltaMs: 1 },
    about: 'createPendingHooks (dry run, logger warn) + createServer (callbacks answered from the node listener in front of fastify), REST route',
  },
  {
    id: 'ph-rest-metrics',
    label: 'pending-hooks REST, metrics on',
    script: 'pending-hooks',
    env: { PH_BENCH_METRICS: '1' },
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: 'ph-rest with `metrics: true` (prom-client counters and histograms per callback): what metrics cost (target < 3% below ph-rest)',
  },
  {
    id: 'ph-serve-default',
    label: 'pending-hooks serve, defaults (built package, info log line per callback)',
    script: 'serve-default',
    serveArgs: ['dist/cli/bin.js', 'serve', 'bench/servers/serve-handlers.mjs', '--config', 'bench/servers/serve-config.json'],
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    target: { minRatio: 0.85, maxP99DeltaMs: 1 },
    about: '`node dist/cli/bin.js serve handlers.mjs` with only the app and dry run configured: default logger (pino, info, one line per callback to stdout, a pipe read by its own `cat > /dev/null` on the other CPU), REST route',
  },
  {
    id: 'ph-serve-warn',
    label: 'pending-hooks serve, LOG_LEVEL=warn (built package)',
    script: 'serve-warn',
    env: { LOG_LEVEL: 'warn' },
    serveArgs: ['dist/cli/bin.js', 'serve', 'bench/servers/serve-handlers.mjs', '--config', 'bench/servers/serve-config.json'],
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: 'the same with LOG_LEVEL=warn (no per-callback line): what the default logging costs',
  },
  {
    id: 'ph-twirp-protobuf',
    label: 'pending-hooks Twirp protobuf',
    script: 'pending-hooks',
    path: twirpPath,
    mode: 'twirp-protobuf',
    headers: protobuf,
    verifiesSignature: true,
    target: { minRatio: 0.75, maxP99DeltaMs: 1 },
    about: 'same server, Twirp route, application/protobuf',
  },
  {
    id: 'ph-twirp-json',
    label: 'pending-hooks Twirp JSON',
    script: 'pending-hooks',
    path: twirpPath,
    mode: 'twirp-json',
    headers: json,
    verifiesSignature: true,
    target: { minRatio: 0.75, maxP99DeltaMs: 1 },
    about: 'same server, Twirp route, application/json (protobuf JSON)',
  },
  {
    id: 'ph-connect',
    label: 'pending-hooks Connect (protobuf)',
    script: 'pending-hooks',
    path: connectPath,
    mode: 'twirp-protobuf',
    headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' },
    verifiesSignature: true,
    target: { minRatio: 0.5, maxP99DeltaMs: 1 },
    about: 'same server with `connect: {}`, Connect unary, application/proto',
  },
  // --- the production path: decisions applied through a (mock) Stream API, issue #12 item 6 ---
  {
    id: 'fastify-undici-applied',
    label: 'hand-written fastify + undici, decision applied (raw body, HMAC, JSON.parse, commit call)',
    script: 'fastify-undici-commit',
    needs: { mockApi: true },
    openRateOf: 'fastify-undici-applied',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: 'fastify route, raw Buffer body, prepared-key HMAC, JSON.parse, then undici Pool.request commit / hard delete to the mock API (JWT signed once), answer after the API answered',
  },
  {
    id: 'express-stream-chat-applied',
    label: 'express + stream-chat commitMessage, decision applied',
    script: 'express-stream-chat-commit',
    needs: { mockApi: true },
    openRateOf: 'fastify-undici-applied',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: "express 5, express.raw(), stream-chat verifyWebhook, JSON.parse, then client.commitMessage(id) / deleteMessage(id, true) with the client's base URL set to the mock API",
  },
  {
    id: 'ph-rest-applied',
    label: 'pending-hooks REST, decision applied (api → mock Stream API)',
    script: 'pending-hooks',
    needs: { mockApi: true },
    openRateOf: 'fastify-undici-applied',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    target: { minRatio: 0.9, maxP99DeltaMs: 1, against: 'fastify-undici-applied', timesOf: { row: 'express-stream-chat-applied', min: 4 } },
    about: 'ph-rest with `api: { baseUrl: <mock> }`: every decision committed / hard-deleted through pending-hooks\' undici client before the inline answer',
  },
  {
    id: 'ph-rest-applied-redis',
    label: 'pending-hooks REST, decision applied, Redis dedupe',
    script: 'pending-hooks',
    needs: { mockApi: true, redis: true },
    openRateOf: 'fastify-undici-applied',
    path: restPath,
    mode: 'rest',
    headers: json,
    verifiesSignature: true,
    about: 'ph-rest-applied with `dedupe: createRedisDedupeStore({ url })` on a redis-server started for the row (claim, decision stored, per callback)',
  },
];

export function bodiesOf(row: RowSpec, payloads: BenchPayloads): EncodedBodies {
  return payloads[row.mode];
}
