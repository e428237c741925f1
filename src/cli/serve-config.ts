import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { PendingHooksOptions } from '../pending-hooks.js';

const actionSchema = z.enum(['commit', 'delete', 'keep_pending']);
const answerSchema = z.enum(['auto', 'inline', 'ack-first']);

/** The `--config` JSON file: several apps and any setting; flags and environment override it. */
export const serveConfigSchema = z.strictObject({
  apps: z.array(z.strictObject({ apiKey: z.string().min(1), secrets: z.array(z.string().min(1)).min(1) })).optional(),
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  timeoutMs: z.number().positive().optional(),
  fallback: actionSchema.optional(),
  answer: answerSchema.optional(),
  answerWithinMs: z.number().positive().optional(),
  restMount: z.string().optional(),
  twirpPrefix: z.string().optional(),
  twirp: z.boolean().optional(),
  baseUrl: z.url().optional(),
  dryRun: z.boolean().optional(),
  bodyLimit: z.number().int().positive().optional(),
  verifySignatures: z.boolean().optional(),
  maxInFlight: z.number().int().positive().optional(),
  maxEventLoopDelayMs: z.number().positive().optional(),
  adaptiveLimit: z.boolean().optional(),
  maxConnections: z.number().int().positive().optional(),
  apiConnections: z.number().int().positive().optional(),
  redisUrl: z.string().min(1).optional(),
});
export type ServeConfig = z.infer<typeof serveConfigSchema>;

/** Command-line flags of `serve` (commander's parsed values). */
export interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  timeoutMs?: string;
  fallback?: string;
  answer?: string;
  answerWithinMs?: string;
  mount?: string;
  twirpPrefix?: string;
  twirp?: boolean;
  baseUrl?: string;
  dryRun?: boolean;
  insecureNoSignature?: boolean;
  bodyLimit?: string;
  maxInFlight?: string;
  maxEventLoopDelayMs?: string;
  /** `--fixed-in-flight`: `maxInFlight` as a fixed bound, not the ceiling of a learned one. */
  fixedInFlight?: boolean;
  maxConnections?: string;
  /** `--no-metrics`: no `GET /metrics`. */
  metrics?: boolean;
  apiConnections?: string;
  redisUrl?: string;
}

export interface ServeSettings {
  host: string;
  port: number;
  hooks: PendingHooksOptions;
  /** Open connections at most (see `CreateServerOptions.maxConnections`); undefined: the default. */
  maxConnections: number | undefined;
  /**
   * Several instances share decisions through this Redis. Only validated here: the store (a
   * connection) is made by `serve` once everything else checked out, so a usage error never
   * leaves a connection holding the process open.
   */
  redisUrl: string | undefined;
}

/** A usage or configuration error: the CLI prints its one-line message and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A failure at run time the user can act on: the CLI prints its one-line message and exits 1. */
export class CliRuntimeError extends Error {
  override readonly name = 'CliRuntimeError';
}

function portNumber(value: number | undefined, what: string): number | undefined {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 65535)) {
    throw new ConfigError(`${what} must be a whole number from 0 to 65535 (got ${value})`);
  }
  return value;
}

function number(value: string | undefined, what: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new ConfigError(`${what} must be a number (got ${JSON.stringify(value)})`);
  return parsed;
}

/** `{ [key]: value }` when the value is set, else nothing (so defaults apply). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function truthy(value: string, what: string): boolean {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new ConfigError(`${what} must be 1, true, 0 or false (got ${JSON.stringify(value)})`);
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(`${what} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

export async function readServeConfig(path: string): Promise<ServeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--config ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = serveConfigSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`--config ${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Settles `serve`'s settings: flags override the environment, which overrides the config file. */
export async function resolveServeSettings(flags: ServeFlags, env: NodeJS.ProcessEnv): Promise<ServeSettings> {
  const file: ServeConfig = flags.config ? await readServeConfig(flags.config) : {};
  const apps = [...(file.apps ?? [])];
  if (env.STREAM_API_KEY || env.STREAM_API_SECRET) {
    if (!env.STREAM_API_KEY || !env.STREAM_API_SECRET) throw new ConfigError('STREAM_API_KEY and STREAM_API_SECRET go together');
    // Several secrets, comma-separated, during a rotation: current first.
    apps.push({ apiKey: env.STREAM_API_KEY, secrets: env.STREAM_API_SECRET.split(',').map((s) => s.trim()).filter(Boolean) });
  }
  const insecure = flags.insecureNoSignature === true || file.verifySignatures === false;
  if (apps.length === 0 && !insecure) {
    throw new ConfigError('no Stream app configured: set STREAM_API_KEY and STREAM_API_SECRET, or use --config with "apps"');
  }
  const dryRun = flags.dryRun === true || file.dryRun === true || apps.length === 0;
  const baseUrl = flags.baseUrl ?? (env.STREAM_BASE_URL || undefined) ?? file.baseUrl;
  const twirpEnabled = flags.twirp !== false && file.twirp !== false;
  const twirpPrefix = flags.twirpPrefix ?? env.TWIRP_PREFIX ?? file.twirpPrefix;
  const hooks: PendingHooksOptions = {
    apps,
    timeoutMs: number(flags.timeoutMs, '--timeout-ms') ?? number(env.TIMEOUT_MS, 'TIMEOUT_MS') ?? file.timeoutMs,
    fallback: oneOf(flags.fallback, actionSchema.options, '--fallback') ?? oneOf(env.FALLBACK, actionSchema.options, 'FALLBACK') ?? file.fallback,
    answer: oneOf(flags.answer, answerSchema.options, '--answer') ?? oneOf(env.ANSWER, answerSchema.options, 'ANSWER') ?? file.answer,
    answerWithinMs: number(flags.answerWithinMs, '--answer-within-ms') ?? number(env.ANSWER_WITHIN_MS, 'ANSWER_WITHIN_MS') ?? file.answerWithinMs,
    bodyLimit: number(flags.bodyLimit, '--body-limit') ?? number(env.BODY_LIMIT, 'BODY_LIMIT') ?? file.bodyLimit,
    rest: { mount: flags.mount ?? env.REST_MOUNT ?? file.restMount ?? '' },
    twirp: twirpEnabled ? { prefix: twirpPrefix ?? '/twirp' } : false,
    verifySignatures: !insecure,
    api: dryRun
      ? undefined
      : { baseUrl, ...optional('connections', number(flags.apiConnections, '--api-connections') ?? number(env.API_CONNECTIONS, 'API_CONNECTIONS') ?? file.apiConnections) },
    // A server run by `serve` is a deployment: it exposes /metrics, /healthz and /readyz.
    metrics: flags.metrics !== false,
    shedding: {
      maxInFlight: number(flags.maxInFlight, '--max-in-flight') ?? number(env.MAX_IN_FLIGHT, 'MAX_IN_FLIGHT') ?? file.maxInFlight,
      maxEventLoopDelayMs: number(flags.maxEventLoopDelayMs, '--max-event-loop-delay-ms') ?? number(env.MAX_EVENT_LOOP_DELAY_MS, 'MAX_EVENT_LOOP_DELAY_MS') ?? file.maxEventLoopDelayMs,
      adaptive: flags.fixedInFlight ? false : env.FIXED_IN_FLIGHT ? !truthy(env.FIXED_IN_FLIGHT, 'FIXED_IN_FLIGHT') : (file.adaptiveLimit ?? true),
    },
  };
  // Several instances share decisions (and durable ack-first) through Redis.
  const redisUrl = flags.redisUrl ?? (env.REDIS_URL || undefined) ?? file.redisUrl;
  if (redisUrl) {
    if (!/^rediss?:\/\//.test(redisUrl)) throw new ConfigError('--redis-url / REDIS_URL must be a redis:// or rediss:// URL (the value is not shown: it may hold a password)');
  }
  const maxConnections = number(flags.maxConnections, '--max-connections') ?? number(env.MAX_CONNECTIONS, 'MAX_CONNECTIONS') ?? file.maxConnections;
  const port = portNumber(number(flags.port, '--port'), '--port') ?? portNumber(number(env.PORT, 'PORT'), 'PORT') ?? file.port ?? 3000;
  const host = flags.host ?? (env.HOST || undefined) ?? file.host ?? '127.0.0.1';
  if (host.trim() === '') throw new ConfigError('--host must not be empty; use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)');
  return { host, port, hooks, maxConnections, redisUrl: redisUrl || undefined };
}
