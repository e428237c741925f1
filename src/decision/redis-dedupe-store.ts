import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import pino, { type Logger } from 'pino';
import type { Outcome } from './decision.js';
import { isDecisionAction } from './decision.js';
import type { ClaimResult, DedupeRecord, DedupeStore, DurableCallback, RecoveredCallback } from './dedupe-store.js';
import { createMemoryDedupeStore, type MemoryDedupeStoreOptions } from './memory-dedupe-store.js';

/** Options of {@link createRedisDedupeStore}: a `url` or your own ioredis `client`. */
export interface RedisDedupeStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url?: string;
  /**
   * Your own ioredis client instead of `url` (not closed by the store). Give it
   * `enableOfflineQueue: false`, `maxRetriesPerRequest: 0` and a `commandTimeout`, or a command
   * may wait as long as the client lets it: the store skips Redis only while the client is not `ready`.
   */
  client?: IoredisClient;
  /** Prefix of every key the store writes. Default `pending-hooks:`. */
  keyPrefix?: string;
  /** How long a decision is remembered, at least 60 s. Default 2 minutes (Stream retries within 15 s). */
  ttlMs?: number;
  /** Longest wait for one Redis command before answering from this process's memory. Default 100 ms. */
  commandTimeoutMs?: number;
  /**
   * A process that has not said it is alive for this long is taken for dead: its ack-first
   * callbacks are finished by another process. Default 1500 ms (refreshed every third of it).
   */
  aliveTtlMs?: number;
  /** How often each process looks for ack-first callbacks of dead processes. Default 250 ms. */
  recoverEveryMs?: number;
  /** Where the store logs; default the server's logger. */
  logger?: Logger;
  /** The in-process store used while Redis is unreachable (and kept warm all along). */
  local?: MemoryDedupeStoreOptions;
}

/** The Redis dedupe store: a `DedupeStore` shared by every instance, plus its health. */
export interface RedisDedupeStore extends DedupeStore {
  /** False while Redis is unreachable (or its last command failed): the process answers from its own memory. */
  readonly healthy: boolean;
  /** This process's id in Redis (who holds a claim, who is alive). */
  readonly instanceId: string;
  /** The ioredis client (yours, or the one made from `url`). */
  readonly client: IoredisClient;
}

/**
 * An ioredis `Redis` client, named without ioredis' own types in the package's declarations:
 * they import an untyped module (`redis-errors`), which breaks a user's `tsc` without
 * `skipLibCheck`. Pass an ioredis client; the store uses it as one.
 */
export interface IoredisClient {
  readonly status: string;
  quit(): Promise<unknown>;
}

/*
 * Keys, all under the prefix:
 *   d:{key}      the decision: 'A' (applied) or 'N' (not applied) + JSON {a, r?, t}; PX ttl
 *   c:{key}      the claim: owner's instance id; PX lease (the budget plus a margin)
 *   j:{key}      a durable ack-first callback (hash: owner, payload, outcome?, status?); PX ttl
 *   jobs:{id}    sorted set of the durable callbacks an instance owns, scored by their deadline
 *   owners       set of the instance ids that own (or owned) durable callbacks
 *   failed       sorted set of durable callbacks recorded as failed, scored by when
 *   alive:{id}   an instance's heartbeat; PX aliveTtl
 * A sweep looks at the owners only (not at every callback in flight), so the callbacks of a dead
 * instance are found at once however many live ones are in flight. Keys are built inside the
 * scripts: one Redis (or a primary with replicas), not Redis Cluster.
 */

// KEYS: decision, claim, job, jobs:{me}, owners. ARGV: me, leaseMs, payload ('' = not durable), deadline, member, ttlMs.
const claimScript = `
local d = redis.call('GET', KEYS[1])
if d and string.sub(d, 1, 1) == 'A' then return {1, d} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[3], 'owner', ARGV[1], 'payload', ARGV[3])
    redis.call('PEXPIRE', KEYS[3], ARGV[6])
    redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
    redis.call('SADD', KEYS[5], ARGV[1])
  end
  return {2, d or ''}
end
return {3, ''}
`;

// KEYS: decision, claim, job, failed. ARGV: record, ttlMs, member, applied ('1'|'0'), now, prefix.
const settleScript = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
local owner = redis.call('HGET', KEYS[3], 'owner')
if owner and redis.call('ZREM', ARGV[6] .. 'jobs:' .. owner, ARGV[3]) == 1 then
  if ARGV[4] == '1' then
    redis.call('DEL', KEYS[3])
  else
    redis.call('HSET', KEYS[3], 'status', 'failed', 'failedAt', ARGV[5])
    redis.call('PEXPIRE', KEYS[3], ARGV[2])
    redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[5]) - tonumber(ARGV[2]))
  end
end
return 1
`;

// KEYS: job. ARGV: owner, outcome.
const markScript = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('HSET', KEYS[1], 'outcome', ARGV[2]) end
return 1
`;

// KEYS: owners. ARGV: me, prefix, now, limit, forgetBefore. The claim taken over lasts the budget left plus 1 s. Takes over the callbacks of dead
// owners (at most limit per sweep); drops own entries older than the ttl (settles lost in an outage).
const recoverScript = `
local out = {}
local left = tonumber(ARGV[4])
local mine = ARGV[2] .. 'jobs:' .. ARGV[1]
redis.call('ZREMRANGEBYSCORE', mine, '-inf', ARGV[5])
for _, owner in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if left <= 0 then break end
  if owner ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. 'alive:' .. owner) == 0 then
    local theirs = ARGV[2] .. 'jobs:' .. owner
    local members = redis.call('ZRANGE', theirs, 0, left - 1, 'WITHSCORES')
    for i = 1, #members, 2 do
      local m = members[i]
      local job = ARGV[2] .. 'j:' .. m
      redis.call('ZREM', theirs, m)
      if redis.call('HGET', job, 'owner') == owner then
        redis.call('HSET', job, 'owner', ARGV[1])
        redis.call('ZADD', mine, members[i + 1], m)
        local lease = math.floor(math.max(tonumber(members[i + 1]) - tonumber(ARGV[3]), 0)) + 1000
        redis.call('SET', ARGV[2] .. 'c:' .. m, ARGV[1], 'PX', lease)
        local f = redis.call('HMGET', job, 'payload', 'outcome')
        table.insert(out, m)
        table.insert(out, f[1] or '')
        table.insert(out, f[2] or '')
        left = left - 1
      end
    end
    if redis.call('ZCARD', theirs) == 0 then redis.call('SREM', KEYS[1], owner) end
  end
end
if #out > 0 then redis.call('SADD', KEYS[1], ARGV[1]) end
return out
`;

interface ScriptedRedis {
  phClaim(decision: string, claim: string, job: string, jobs: string, owners: string, me: string, leaseMs: number, payload: string, deadline: number, member: string, ttlMs: number): Promise<[number, string]>;
  phSettle(decision: string, claim: string, job: string, failed: string, record: string, ttlMs: number, member: string, applied: string, now: number, prefix: string): Promise<number>;
  phMark(job: string, owner: string, outcome: string): Promise<number>;
  phRecover(owners: string, me: string, prefix: string, now: number, limit: number, forgetBefore: number): Promise<string[]>;
}

const recoverBatch = 100;
/** Longest quiet time between two "still unreachable" error lines. */
const errorLogEveryMs = 5000;

function encodeOutcome(outcome: Outcome): string {
  return JSON.stringify(outcome.reason === undefined ? { a: outcome.action, t: outcome.timedOut } : { a: outcome.action, r: outcome.reason, t: outcome.timedOut });
}

function decodeOutcome(text: string): Outcome | undefined {
  try {
    const value = JSON.parse(text) as { a?: unknown; r?: unknown; t?: unknown };
    if (!isDecisionAction(value.a)) return undefined;
    return typeof value.r === 'string' ? { action: value.a, reason: value.r, timedOut: value.t === true } : { action: value.a, timedOut: value.t === true };
  } catch {
    return undefined;
  }
}

function encodeRecord(record: DedupeRecord): string {
  return (record.applied ? 'A' : 'N') + encodeOutcome(record.outcome);
}

function decodeRecord(text: string | null | undefined): DedupeRecord | undefined {
  if (!text) return undefined;
  const outcome = decodeOutcome(text.slice(1));
  return outcome && { outcome, applied: text[0] === 'A' };
}

function boundedClientOptions(commandTimeoutMs: number): RedisOptions {
  return {
    // A command never waits for a connection: while Redis is away the store answers from memory.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
  };
}

/**
 * A {@link DedupeStore} on Redis, shared by every instance of the server: the same
 * (api key, `X-Webhook-Id`) runs the handler once and reaches Stream's API once, whichever
 * instance each delivery lands on.
 *
 * - **Claim.** A Lua script claims the key atomically (`SET NX PX`, the budget plus a margin);
 *   an instance that finds it claimed polls every 15 ms for the owner's decision within its own
 *   budget, and answers the same decision.
 * - **Decisions** are kept `ttlMs` (default 2 minutes, at least 60 s).
 * - **Durable ack-first.** With `answer: 'ack-first'`, the callback (its event and deadline) is
 *   written with the claim, before `{"accepted": true}` goes out. Each instance refreshes an
 *   `alive` key; another instance takes over the callbacks of one that stopped refreshing and
 *   applies a decision before the budget ends (the handler's if it has time left, else the
 *   fallback). A decision still not applied at the end of its budget is recorded as failed
 *   (sorted set `failed`) and logged.
 * - **Redis unreachable.** Every command is bounded (`commandTimeoutMs`, no offline queue).
 *   The store answers from an in-process store it keeps written all along, logs an error (at
 *   most one line per 5 s while it lasts), reports `healthy === false`, and goes back to Redis
 *   as soon as it answers again.
 *
 * ```ts
 * const hooks = createPendingHooks({ ..., dedupe: createRedisDedupeStore({ url: process.env.REDIS_URL }) });
 * ```
 */
export function createRedisDedupeStore(options: RedisDedupeStoreOptions): RedisDedupeStore {
  if (!options.url === !options.client) throw new TypeError('pending-hooks: createRedisDedupeStore needs either url or client');
  const ttlMs = options.ttlMs ?? 2 * 60_000;
  if (!(ttlMs >= 60_000)) throw new RangeError('pending-hooks: dedupe ttlMs must be at least 60000 (Stream retries within 15 s)');
  const commandTimeoutMs = options.commandTimeoutMs ?? 100;
  const aliveTtlMs = options.aliveTtlMs ?? 1500;
  const recoverEveryMs = options.recoverEveryMs ?? 250;
  const prefix = options.keyPrefix ?? 'pending-hooks:';
  const ownsClient = !options.client;
  const client: Redis = (options.client as Redis | undefined) ?? new (ioredis().Redis)(options.url!, { ...boundedClientOptions(commandTimeoutMs), lazyConnect: false });
  let logger: Logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  let loggerGiven = options.logger !== undefined;
  const instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const local = createMemoryDedupeStore({ ttlMs, ...options.local });

  for (const [name, lua, keys] of [
    ['phClaim', claimScript, 5],
    ['phSettle', settleScript, 4],
    ['phMark', markScript, 1],
    ['phRecover', recoverScript, 1],
  ] as const) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') client.defineCommand(name, { numberOfKeys: keys, lua });
  }
  const redis = client as unknown as ScriptedRedis;

  // Health: `failing` from a failed command until one succeeds. While failing, callbacks skip
  // Redis altogether: only the heartbeat probes it, so no callback pays a timeout twice.
  let failing = false;
  let failuresSinceLog = 0;
  let lastErrorLogAt = -Infinity;
  let closed = false;

  let everReady = client.status === 'ready';
  const firstReady = new Promise<void>((resolve) => {
    if (everReady) resolve();
    else client.once('ready', () => resolve());
  });
  /** At start-up a callback waits (at most a command's timeout) for the first connection rather than skip Redis. */
  async function connected(): Promise<void> {
    if (everReady || closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([firstReady, new Promise<void>((resolve) => (timer = setTimeout(resolve, commandTimeoutMs)))]);
    clearTimeout(timer);
  }

  function usable(): boolean {
    if (closed) return false;
    if (client.status !== 'ready') {
      if (everReady && !failing) failed(new Error(`redis connection ${client.status}`), 'connection');
      return false;
    }
    return !failing;
  }

  function failed(error: unknown, operation: string, fields?: Record<string, unknown>): void {
    const now = performance.now();
    failuresSinceLog++;
    if (!failing || now - lastErrorLogAt >= errorLogEveryMs) {
      logger.error(
        { err: error, operation, failures: failuresSinceLog, redisStatus: client.status, ...fields },
        failing ? 'redis still unreachable: answering from this process\'s memory' : 'redis unreachable: answering from this process\'s memory until it is back',
      );
      lastErrorLogAt = now;
      failuresSinceLog = 0;
    }
    failing = true;
  }

  function succeeded(): void {
    if (!failing) return;
    failing = false;
    logger.warn({ redisStatus: client.status }, 'redis reachable again: shared dedupe resumed');
  }

  // Errors are logged by `failed` when a command meets them; a listener must exist or ioredis throws.
  client.on('error', (error: unknown) => {
    if (!failing) failed(error, 'connection');
  });
  client.on('ready', () => {
    everReady = true;
    heartbeat();
  });
  client.on('close', () => {
    if (!closed && everReady && !failing) failed(new Error('connection to redis closed'), 'connection');
  });

  /** A supplied client may have no commandTimeout: bound its commands ourselves. */
  function bounded<T>(command: Promise<T>): Promise<T> {
    if (!ownsClient && client.options.commandTimeout === undefined) {
      let timer: NodeJS.Timeout;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis command timed out after ${commandTimeoutMs} ms`)), commandTimeoutMs);
      });
      return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
    }
    return command;
  }

  const k = {
    decision: (key: string) => `${prefix}d:${key}`,
    claim: (key: string) => `${prefix}c:${key}`,
    job: (key: string) => `${prefix}j:${key}`,
    jobs: `${prefix}jobs:${instanceId}`,
    owners: `${prefix}owners`,
    failed: `${prefix}failed`,
    alive: `${prefix}alive:${instanceId}`,
  };

  function heartbeat(): void {
    if (closed || client.status !== 'ready') return;
    bounded(client.set(k.alive, '1', 'PX', aliveTtlMs)).then(succeeded, (error: unknown) => failed(error, 'heartbeat'));
  }
  const heartbeatTimer = setInterval(heartbeat, Math.max(50, Math.floor(aliveTtlMs / 3)));
  heartbeatTimer.unref();
  let recoverTimer: NodeJS.Timeout | undefined;

  function localClaim(key: string): ClaimResult {
    const known = local.get(key) as DedupeRecord | undefined;
    if (known?.applied) return { status: 'known', record: known };
    return known ? { status: 'claimed', record: known } : { status: 'claimed' };
  }

  const store: RedisDedupeStore = {
    get healthy() {
      return !closed && client.status === 'ready' && !failing;
    },
    instanceId,
    client,

    async get(key) {
      const known = local.get(key) as DedupeRecord | undefined;
      if (known?.applied) return known;
      if (!everReady) await connected();
      if (!usable()) return known;
      try {
        const record = decodeRecord(await bounded(client.get(k.decision(key))));
        succeeded();
        return record ?? known;
      } catch (error) {
        failed(error, 'get');
        return known;
      }
    },

    set(key, record) {
      local.set(key, record);
      if (!usable()) return;
      // Not awaited: the answer never waits for Redis; the claim keeps other instances waiting meanwhile.
      bounded(redis.phSettle(k.decision(key), k.claim(key), k.job(key), k.failed, encodeRecord(record), ttlMs, key, record.applied ? '1' : '0', Date.now(), prefix)).then(
        succeeded,
        (error: unknown) => failed(error, 'set', { key }),
      );
    },

    async claim(key, { leaseMs, durable }) {
      const known = local.get(key) as DedupeRecord | undefined;
      if (known?.applied) return { status: 'known', record: known };
      if (!everReady) await connected();
      if (!usable()) return localClaim(key);
      const payload = durable ? JSON.stringify(durable) : '';
      try {
        const [status, text] = await bounded(redis.phClaim(k.decision(key), k.claim(key), k.job(key), k.jobs, k.owners, instanceId, Math.ceil(leaseMs), payload, durable?.deadline ?? 0, key, ttlMs));
        succeeded();
        if (status === 3) return { status: 'busy' };
        const record = decodeRecord(text);
        if (status === 1 && record) return { status: 'known', record };
        return record ? { status: 'claimed', record } : { status: 'claimed' };
      } catch (error) {
        failed(error, 'claim', { key });
        return localClaim(key);
      }
    },

    markDecided(key, outcome) {
      if (!usable()) return;
      bounded(redis.phMark(k.job(key), instanceId, encodeOutcome(outcome))).then(succeeded, (error: unknown) => failed(error, 'markDecided', { key }));
    },

    recover(run) {
      const stop = () => {
        if (recoverTimer) clearInterval(recoverTimer);
      };
      if (recoverTimer) return stop;
      let sweeping = false;
      const sweep = async () => {
        if (sweeping || !usable()) return;
        sweeping = true;
        try {
          const found = await bounded(redis.phRecover(k.owners, instanceId, prefix, Date.now(), recoverBatch, Date.now() - ttlMs));
          succeeded();
          for (let i = 0; i + 2 < found.length; i += 3) {
            const key = found[i]!;
            let callback: RecoveredCallback;
            try {
              const durable = JSON.parse(found[i + 1]!) as DurableCallback;
              callback = { ...durable, key, outcome: found[i + 2] ? decodeOutcome(found[i + 2]!) : undefined };
            } catch (error) {
              logger.error({ err: error, key }, 'durable ack-first callback unreadable: recorded as failed');
              store.set(key, { outcome: { action: 'keep_pending', reason: 'unreadable', timedOut: false }, applied: false });
              continue;
            }
            logger.warn(
              { webhookId: callback.event.webhookId, messageId: callback.event.message?.id, budgetLeftMs: Math.round(callback.deadline - Date.now()), decided: callback.outcome !== undefined },
              'ack-first callback of a stopped instance taken over',
            );
            run(callback).catch((error: unknown) => logger.error({ err: error, webhookId: callback.event.webhookId, messageId: callback.event.message?.id }, 'taken-over callback failed'));
          }
        } catch (error) {
          failed(error, 'recover');
        } finally {
          sweeping = false;
        }
      };
      recoverTimer = setInterval(() => void sweep(), recoverEveryMs);
      recoverTimer.unref();
      return stop;
    },

    useLogger(serverLogger) {
      if (!loggerGiven) {
        logger = serverLogger;
        loggerGiven = true;
      }
    },

    async close() {
      if (closed) return;
      clearInterval(heartbeatTimer);
      if (recoverTimer) clearInterval(recoverTimer);
      if (client.status === 'ready') {
        // Gone on purpose: no other instance needs to wait aliveTtlMs to know.
        await bounded(client.del(k.alive)).catch(() => {});
      }
      closed = true;
      local.close?.();
      if (ownsClient) {
        await Promise.race([client.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
        client.disconnect();
      }
    },
  };
  return store;
}

/** ioredis, loaded when a Redis store is created: `import 'pending-hooks'` alone never loads it. */
function ioredis(): typeof import('ioredis') {
  return createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
}
