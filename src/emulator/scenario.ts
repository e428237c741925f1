import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino, { type Level } from 'pino';
import { Agent } from 'undici';
import { sleep } from '../core/deadline.js';
import type { DecisionAction } from '../decision/decision.js';
import { registerHandlers } from '../define-handlers.js';
import { registerTsx } from '../optional-dependency.js';
import type { PendingMessage } from '../event/message-schema.js';
import { createPendingHooks, type PendingHooks } from '../pending-hooks.js';
import { createServer } from '../server/create-server.js';
import { defaultTwirpPrefix, isCallbackMode, type CallbackMode } from './callback-encoding.js';
import { neverAborted, sendCallback, type CallbackResult, type SendCallbackOptions } from './callback-sender.js';
import { summarizeLatencies, type LatencySummary } from './latency-summary.js';
import { createMockStreamApi, type MessageState, type MockAction, type MockStreamApi } from './mock-stream-api.js';
import { demoApiKey, demoSecret } from './demo-app.js';
import { messageHtml, sampleMessage, samplePayload, seededRandom, type Seed } from './sample-messages.js';

export { demoApiKey, demoSecret };

/**
 * Scenario mode of the emulator: Stream's side of a busy channel. N pending messages at a
 * rate — a share of them with blocklisted words, a share that makes the classifier too slow —
 * each registered as pending in the mock Stream API with the hook's `timeout_ms`, each
 * announced by a signed PassOnPendingMessage callback (Stream's retry rules), while the mock
 * injects API faults. Messages still pending at `timeout_ms` expire (Stream deletes them and
 * calls DeletedPendingMessage). The report counts outcomes and measures the end-to-end
 * decision latency: callback sent → commit or delete received by the mock.
 */

/** The words `examples/moderation-handlers.ts` blocks. */
export const defaultBadWords: readonly string[] = ['badword', 'scam', 'free crypto'];
/** What makes the example classifier take 2 s. */
export const defaultSlowMarker = '[slow]';

/** What a generated message is made to provoke. */
export type ScenarioMessageKind = 'clean' | 'bad' | 'slow' | 'bad+slow';
export const scenarioMessageKinds: readonly ScenarioMessageKind[] = ['clean', 'bad', 'slow', 'bad+slow'];

/** A fault the mock Stream API injects into a share of the decision calls (commit / hard delete). */
export interface ScenarioApiFault {
  /** Fraction (0–1) of matching API requests that get the fault. */
  share: number;
  /** Status answered (Stream-style error body). Default 503 unless `networkError`. */
  status?: number;
  /** Destroy the socket instead of answering. */
  networkError?: boolean;
  /** Delay before the fault (or, with neither status nor network error, before a normal answer). */
  delayMs?: number;
  /** Only commits or only deletes; default both. */
  action?: Extract<MockAction, 'commit' | 'delete'>;
}

/** What `runScenario` passes to a `hooks` factory. */
export interface ScenarioServerContext {
  /** The mock Stream API's base URL: give it as `api: { baseUrl }`. */
  apiBaseUrl: string;
  apiKey: string;
  apiSecret: string;
  timeoutMs: number;
  twirpPrefix: string;
}

/** Progress, reported about once a second while the scenario runs. */
export interface ScenarioProgress {
  elapsedMs: number;
  sent: number;
  total: number;
  /** Committed or deleted (by the server under test). */
  decided: number;
  expired: number;
  /** Callbacks sent whose final answer has not arrived. */
  inFlight: number;
  /** Callbacks that ended without a 2xx answer. */
  failed: number;
}

export interface ScenarioOptions {
  /**
   * An external pending-hooks server (its `webhook_url`). It must apply decisions through the
   * mock API (`STREAM_BASE_URL` = the mock's URL, see `onReady`) with the same key and secret.
   * Without `url`, the scenario starts its own server from `handlers` or `hooks`.
   */
  url?: string;
  /**
   * For an in-process server: a handlers module path (`.ts` through tsx), or the module itself
   * (`defineHandlers({...})` or `(hooks) => {...}` as default export, or the export itself).
   */
  handlers?: string | object;
  /** For an in-process server: builds the hooks yourself, pointed at `context.apiBaseUrl`. */
  hooks?: (context: ScenarioServerContext) => PendingHooks | Promise<PendingHooks>;
  /** Callback mode. Default `rest`. */
  mode?: CallbackMode;
  /** Twirp route prefix (the server's `twirp.prefix`). Default `/twirp`. */
  twirpPrefix?: string;
  /** How many PassOnPendingMessage callbacks. Default 50. */
  messages?: number;
  /** Messages per second; 0 or Infinity sends them all at once. Default 20. */
  rate?: number;
  /** Fraction of messages with a blocklisted word. Default 0.2. */
  badShare?: number;
  /** Fraction of messages marked `[slow]` (the example classifier then misses the budget). Default 0.1. */
  slowShare?: number;
  /** Blocklisted words to use. Default {@link defaultBadWords}. */
  badWords?: readonly string[];
  /** Default {@link defaultSlowMarker}. */
  slowMarker?: string;
  /** Faults of the mock API (e.g. `{ status: 503, share: 0.1 }`). */
  apiFaults?: ScenarioApiFault | readonly ScenarioApiFault[];
  /** The hook's `timeout_ms`: a message still pending after it expires. Default 500. */
  timeoutMs?: number;
  /** The in-process server's fallback. Default `keep_pending`. */
  fallback?: DecisionAction;
  /** Gzip callback bodies. */
  gzip?: boolean;
  /** Seed of messages, shares and faults. Default: random (reported). */
  seed?: Seed;
  /** App credentials (the mock, the signatures and the in-process server). */
  apiKey?: string;
  secret?: string;
  /** Use this mock Stream API (the caller closes it), or where to start one. Default: 127.0.0.1, any port. */
  api?: MockStreamApi | { host?: string; port?: number };
  /** Overrides of Stream's delivery limits (`requestTimeoutMs`, `totalTimeoutMs`, `backoffMs`). */
  delivery?: Pick<SendCallbackOptions, 'requestTimeoutMs' | 'totalTimeoutMs' | 'backoffMs'>;
  /**
   * Callbacks sent (one after another) before the measured run and left out of the report, so
   * connections are open and code paths are warm, as on Stream's side. Default 3.
   */
  warmup?: number;
  /** Send DeletedPendingMessage when a message expires (Stream deleted it). Default true. */
  sendDeleted?: boolean;
  /** After the last callback is sent, wait at most this long for in-flight work. Default `timeoutMs + 250`. */
  drainMs?: number;
  /** Called about once a second with a progress line. */
  progress?: (line: string, progress: ScenarioProgress) => void;
  progressIntervalMs?: number;
  /** Called once the mock API and the target are up, before the first callback. */
  onReady?: (info: { apiUrl: string; targetUrl: string; inProcess: boolean }) => void | Promise<void>;
  /** Log level of the in-process server (pino, to stderr). Default `silent`. */
  logLevel?: Level | 'silent';
  /** Ends the run early (the report covers what happened). */
  signal?: AbortSignal;
}

export interface OutcomeCounts {
  messages: number;
  committed: number;
  deleted: number;
  expired: number;
  pending: number;
}

/** One message's story. */
export interface ScenarioMessageRecord {
  index: number;
  id: string;
  kind: ScenarioMessageKind;
  webhookId: string;
  /** Final state at 'Stream'. */
  state: MessageState;
  /** Callback sent → commit/delete received by the mock, when one landed. */
  decisionMs: number | undefined;
  /** Callback sent → 'Stream' expired the message, when it did. */
  expiredMs: number | undefined;
  /** Callback sent → its final answer (all attempts). */
  answerMs: number | undefined;
  status: number | undefined;
  /** `network`, `timeout` or `aborted` when the last attempt got no answer. */
  error: string | undefined;
  attempts: number;
  action: DecisionAction | 'accepted' | undefined;
  reason: string | undefined;
  timedOut: boolean;
  /** Decision calls the mock received for it (retries of the server included). */
  apiCalls: number;
}

export interface ScenarioReport {
  settings: {
    mode: CallbackMode;
    target: string;
    inProcess: boolean;
    apiUrl: string;
    messages: number;
    rate: number;
    badShare: number;
    slowShare: number;
    apiFaults: ScenarioApiFault[];
    timeoutMs: number;
    fallback: DecisionAction | undefined;
    gzip: boolean;
    seed: Seed;
    twirpPrefix: string | undefined;
    warmup: number;
  };
  startedAt: string;
  durationMs: number;
  /** Final states at 'Stream'; they add up to `messages`. */
  outcome: OutcomeCounts;
  byKind: Record<ScenarioMessageKind, OutcomeCounts>;
  callbacks: {
    sent: number;
    /** 2xx at the end. */
    ok: number;
    /** Non-2xx (or no answer) after Stream's retries. */
    failed: number;
    /** Still in flight when the run ended (cut off). */
    aborted: number;
    attempts: number;
    /** Callbacks that needed more than one attempt, and the extra attempts. */
    retried: number;
    retries: number;
    /** Final answer per callback: HTTP status, or `network` / `timeout` / `aborted`. */
    finalStatus: Record<string, number>;
    /** Every attempt's answer. */
    attemptStatus: Record<string, number>;
  };
  /** What the 2xx PassOn answers said. */
  answers: { commit: number; delete: number; keep_pending: number; accepted: number; timedOut: number; unreadable: number };
  /** Callback sent → commit/delete received by the mock. */
  decisionLatency: LatencySummary & {
    timeoutMs: number;
    /** Decisions that landed later than `timeoutMs` after their callback was sent. */
    overTimeout: number;
  };
  /** Commit/delete requests that reached 'Stream' after the message had expired (refused, 404). */
  lateDecisions: number;
  /** Callback sent → final answer. */
  answerLatency: LatencySummary;
  api: {
    /** Commit/delete requests the mock received for the scenario's messages. */
    decisionCalls: number;
    byStatus: Record<string, number>;
    /** Requests answered (or dropped) by an injected fault. */
    faultsInjected: number;
    /** Messages whose decision took more than one request (the server retried), and the extra requests. */
    retriedMessages: number;
    retries: number;
  };
  /** DeletedPendingMessage callbacks for expired messages. */
  deletedCallbacks: { sent: number; ok: number; failed: number; aborted: number };
  details: ScenarioMessageRecord[];
}

interface Tracked {
  record: ScenarioMessageRecord;
  message: PendingMessage;
  sentAt: number;
  expiredAtEpoch: number | undefined;
}

function share(value: number | undefined, fallback: number, what: string): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result < 0 || result > 1) throw new RangeError(`runScenario: ${what} must be between 0 and 1 (got ${value})`);
  return result;
}

function isMock(api: ScenarioOptions['api']): api is MockStreamApi {
  return api !== undefined && typeof (api as MockStreamApi).addPendingMessage === 'function';
}

/** Picks `count` distinct indices of `0..n-1`. */
function pickIndices(n: number, count: number, random: () => number): Set<number> {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return new Set(all.slice(0, count));
}

async function importModule(path: string): Promise<unknown> {
  const absolute = resolve(path);
  if (/\.[cm]?tsx?$/.test(absolute)) {
    await registerTsx(`the TypeScript handlers module ${path} (or compile it to JavaScript)`);
  }
  return import(pathToFileURL(absolute).href);
}

function emptyCounts(): OutcomeCounts {
  return { messages: 0, committed: 0, deleted: 0, expired: 0, pending: 0 };
}

function bump(map: Record<string, number>, key: string) {
  map[key] = (map[key] ?? 0) + 1;
}

function finalStatusOf(result: CallbackResult): string {
  if (result.status !== undefined && result.attempts.at(-1)?.status !== undefined) return String(result.status);
  return result.attempts.at(-1)?.errorKind ?? (result.aborted ? 'aborted' : 'none');
}

/**
 * Runs a scenario and reports. Never throws for what the server under test does (failures
 * are counted); throws for invalid options or when the in-process server cannot start.
 *
 * @example
 * const report = await runScenario({ handlers: 'examples/moderation-handlers.ts', messages: 40, rate: 200,
 *   apiFaults: { status: 503, share: 0.1 }, seed: 7 });
 * console.log(formatScenarioReport(report));
 */
export async function runScenario(options: ScenarioOptions = {}): Promise<ScenarioReport> {
  const mode: CallbackMode = options.mode ?? 'rest';
  if (!isCallbackMode(mode)) {
    throw new TypeError(`runScenario: mode must be rest, twirp-protobuf or twirp-json (got ${String(mode)})`);
  }
  const total = options.messages ?? 50;
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`runScenario: messages must be a whole number (got ${options.messages})`);
  const rate = options.rate ?? 20;
  if (Number.isNaN(rate) || rate < 0) throw new RangeError(`runScenario: rate must be >= 0 (got ${options.rate})`);
  const badShare = share(options.badShare, 0.2, 'badShare');
  const slowShare = share(options.slowShare, 0.1, 'slowShare');
  const timeoutMs = options.timeoutMs ?? 500;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`runScenario: timeoutMs must be positive (got ${options.timeoutMs})`);
  const faults: ScenarioApiFault[] = options.apiFaults === undefined ? [] : Array.isArray(options.apiFaults) ? [...options.apiFaults] : [options.apiFaults as ScenarioApiFault];
  for (const fault of faults) share(fault.share, 0, 'apiFaults[].share');
  const badWords = options.badWords ?? defaultBadWords;
  if (badShare > 0 && badWords.length === 0) throw new TypeError('runScenario: badWords is empty');
  const slowMarker = options.slowMarker ?? defaultSlowMarker;
  const seed: Seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const apiKey = options.apiKey ?? demoApiKey;
  const secret = options.secret ?? demoSecret;
  const twirpPrefix = options.twirpPrefix ?? defaultTwirpPrefix;
  const inProcess = options.url === undefined;
  if (!inProcess && (options.handlers !== undefined || options.hooks !== undefined)) {
    throw new TypeError('runScenario: give either `url` (an external server) or `handlers` / `hooks` (an in-process one)');
  }
  if (inProcess && options.handlers === undefined && options.hooks === undefined) {
    throw new TypeError('runScenario: give `url`, `handlers` or `hooks`');
  }
  const fallback = inProcess && options.hooks === undefined ? (options.fallback ?? 'keep_pending') : undefined;
  const drainMs = options.drainMs ?? timeoutMs + 250;
  const progressIntervalMs = options.progressIntervalMs ?? 1000;
  const warmup = options.warmup ?? 3;
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`runScenario: warmup must be a whole number (got ${options.warmup})`);

  // --- what is sent: messages, their kinds, in a repeatable order ---
  const pick = seededRandom(`${seed}:kinds`);
  const bad = pickIndices(total, Math.round(total * badShare), pick);
  const slow = pickIndices(total, Math.round(total * slowShare), pick);
  const wordPick = seededRandom(`${seed}:words`);
  const tracked: Tracked[] = [];
  const byId = new Map<string, Tracked>();
  const results = new Map<string, CallbackResult>();
  for (let index = 0; index < total; index++) {
    const isBad = bad.has(index);
    const isSlow = slow.has(index);
    const kind: ScenarioMessageKind = isBad && isSlow ? 'bad+slow' : isBad ? 'bad' : isSlow ? 'slow' : 'clean';
    const base = sampleMessage({}, `${seed}:${index}`);
    let text = base.text ?? '';
    if (isBad) text = `${text} ${badWords[Math.floor(wordPick() * badWords.length)]!}`.trim();
    if (isSlow) text = `${text} ${slowMarker}`.trim();
    const message: PendingMessage = kind === 'clean' ? base : { ...base, text, html: messageHtml(text) };
    const record: ScenarioMessageRecord = {
      index,
      id: message.id,
      kind,
      webhookId: randomUUID(),
      state: 'pending',
      decisionMs: undefined,
      expiredMs: undefined,
      answerMs: undefined,
      status: undefined,
      error: undefined,
      attempts: 0,
      action: undefined,
      reason: undefined,
      timedOut: false,
      apiCalls: 0,
    };
    const entry: Tracked = { record, message, sentAt: 0, expiredAtEpoch: undefined };
    tracked.push(entry);
    byId.set(message.id, entry);
  }

  // --- Stream's side: the mock API, and the server under test ---
  const ownMock = !isMock(options.api);
  const mock: MockStreamApi = isMock(options.api)
    ? options.api
    : await createMockStreamApi({
        apps: [{ apiKey, secret }],
        host: (options.api as { host?: string } | undefined)?.host ?? '127.0.0.1',
        port: (options.api as { port?: number } | undefined)?.port ?? 0,
      });
  const callsBefore = mock.calls.length;
  const withdrawFaults: (() => void)[] = [];
  const agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
  const inFlight = new AbortController();
  const stopSignal = options.signal === undefined ? inFlight.signal : AbortSignal.any([inFlight.signal, options.signal]);
  let app: FastifyInstance | undefined;
  const deletedPromises: Promise<void>[] = [];
  const deletedStats = { sent: 0, ok: 0, failed: 0, aborted: 0 };
  const sendDeleted = options.sendDeleted ?? true;
  let decided = 0;
  let expired = 0;
  let settledCallbacks = 0;
  let failedCallbacks = 0;
  let sent = 0;
  // Reset when the measured run starts (after the servers are up and warm).
  let started = performance.now();
  const startedAt = new Date().toISOString();
  let progressTimer: NodeJS.Timeout | undefined;

  const removeListener = mock.addStateListener((messageId, state) => {
    const entry = byId.get(messageId);
    if (entry === undefined || entry.record.state !== 'pending') return;
    entry.record.state = state;
    if (state === 'committed' || state === 'deleted') {
      decided++;
      entry.record.decisionMs = performance.now() - entry.sentAt;
    } else if (state === 'expired') {
      expired++;
      entry.expiredAtEpoch = Date.now();
      entry.record.expiredMs = performance.now() - entry.sentAt;
      if (sendDeleted && !stopSignal.aborted) {
        deletedStats.sent++;
        deletedPromises.push(
          sendCallback({
            ...delivery(),
            method: 'DeletedPendingMessage',
            payload: samplePayload({ ...entry.message, type: 'deleted', deleted_at: new Date().toISOString() }),
          }).then((result) => {
            if (result.aborted) deletedStats.aborted++;
            else if (result.ok) deletedStats.ok++;
            else deletedStats.failed++;
          }),
        );
      }
    }
  });

  let targetUrl = options.url ?? '';
  function delivery(): SendCallbackOptions {
    return {
      url: targetUrl,
      mode,
      ...(mode === 'rest' ? {} : { twirpPrefix }),
      apiKey,
      secret,
      gzip: options.gzip ?? false,
      dispatcher: agent,
      signal: stopSignal,
      ...options.delivery,
    };
  }

  try {
    if (inProcess) {
      const context: ScenarioServerContext = { apiBaseUrl: mock.url, apiKey, apiSecret: secret, timeoutMs, twirpPrefix };
      let hooks: PendingHooks;
      if (options.hooks !== undefined) {
        hooks = await options.hooks(context);
      } else {
        hooks = createPendingHooks({
          apiKey,
          apiSecret: secret,
          timeoutMs,
          fallback,
          api: { baseUrl: mock.url },
          twirp: { prefix: twirpPrefix },
          logger: (options.logLevel ?? 'silent') === 'silent' ? pino({ level: 'silent' }) : pino({ level: options.logLevel }, pino.destination(2)),
        });
        const handlers = options.handlers!;
        const module = typeof handlers === 'string' ? await importModule(handlers) : handlers;
        await registerHandlers(hooks, module, typeof handlers === 'string' ? handlers : 'handlers');
      }
      app = await createServer(hooks);
      targetUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    }
    await options.onReady?.({ apiUrl: mock.url, targetUrl, inProcess });

    // Warm-up: not measured, no expiry, no faults.
    for (let i = 0; i < warmup && !options.signal?.aborted; i++) {
      const message = sampleMessage({}, `${seed}:warmup:${i}`);
      mock.addPendingMessage(message, { apiKey });
      await sendCallback({ ...delivery(), method: 'PassOnPendingMessage', payload: samplePayload(message) });
    }

    for (const fault of faults) {
      const random = seededRandom(`${seed}:faults:${withdrawFaults.length}`);
      withdrawFaults.push(
        mock.injectFaults({
          count: Number.POSITIVE_INFINITY,
          share: fault.share,
          random,
          ...(fault.action === undefined ? {} : { action: fault.action }),
          ...(fault.networkError ? { networkError: true } : { status: fault.status ?? (fault.delayMs !== undefined ? undefined : 503) }),
          ...(fault.delayMs === undefined ? {} : { delayMs: fault.delayMs }),
        }),
      );
    }

    const snapshot = (): ScenarioProgress => ({
      elapsedMs: performance.now() - started,
      sent,
      total,
      decided,
      expired,
      inFlight: sent - settledCallbacks,
      failed: failedCallbacks,
    });
    if (options.progress !== undefined) {
      const report = options.progress;
      progressTimer = setInterval(() => {
        const now = snapshot();
        report(formatProgress(now), now);
      }, progressIntervalMs);
      progressTimer.unref();
    }

    // --- send at the rate ---
    const sendStart = performance.now();
    started = sendStart;
    const interval = rate > 0 && Number.isFinite(rate) ? 1000 / rate : 0;
    const callbacks: Promise<void>[] = [];
    for (const entry of tracked) {
      if (options.signal?.aborted) break;
      const due = sendStart + entry.record.index * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait, options.signal ?? neverAborted);
      if (options.signal?.aborted) break;
      mock.addPendingMessage(entry.message, { timeoutMs, apiKey });
      entry.sentAt = performance.now();
      sent++;
      callbacks.push(
        sendCallback({ ...delivery(), method: 'PassOnPendingMessage', payload: samplePayload(entry.message), webhookId: entry.record.webhookId }).then(
          (result) => {
            settledCallbacks++;
            const { record } = entry;
            record.attempts = result.attempts.length;
            record.status = result.status;
            record.error = result.attempts.at(-1)?.errorKind;
            if (result.aborted) record.error = 'aborted';
            if (!result.aborted && result.attempts.at(-1)?.status !== undefined) record.answerMs = result.totalMs;
            if (!result.ok) failedCallbacks++;
            if (result.answer !== undefined) {
              record.action = result.answer.accepted && result.answer.action === undefined ? 'accepted' : result.answer.action;
              record.reason = result.answer.reason;
              record.timedOut = result.answer.timedOut;
            }
            results.set(entry.record.id, result);
          },
        ),
      );
    }
    const lastSent = performance.now();

    // --- drain: in-flight callbacks, pending messages, Deleted callbacks; at most drainMs ---
    const drainDeadline = lastSent + drainMs;
    while (performance.now() < drainDeadline && !options.signal?.aborted) {
      const settled = settledCallbacks === sent && tracked.every((entry) => entry.record.state !== 'pending' || entry.sentAt === 0);
      if (settled) {
        await Promise.race([Promise.all(deletedPromises), sleep(drainDeadline - performance.now(), neverAborted)]);
        if (deletedStats.ok + deletedStats.failed + deletedStats.aborted === deletedStats.sent) break;
      } else {
        await sleep(Math.min(10, drainDeadline - performance.now()), neverAborted);
      }
    }
    inFlight.abort(new Error('scenario ended'));
    await Promise.all(callbacks);
    await Promise.all(deletedPromises);
  } finally {
    if (progressTimer !== undefined) clearInterval(progressTimer);
    removeListener();
    for (const withdraw of withdrawFaults) withdraw();
    if (!inFlight.signal.aborted) inFlight.abort(new Error('scenario ended'));
    if (app !== undefined) await app.close();
    await agent.close().catch(() => agent.destroy());
    if (ownMock) await mock.close();
  }

  return buildReport();

  function buildReport(): ScenarioReport {
    const outcome = emptyCounts();
    const byKind = Object.fromEntries(scenarioMessageKinds.map((kind) => [kind, emptyCounts()])) as Record<ScenarioMessageKind, OutcomeCounts>;
    for (const { record } of tracked) {
      for (const counts of [outcome, byKind[record.kind]]) {
        counts.messages++;
        counts[record.state]++;
      }
    }
    const callbacks: ScenarioReport['callbacks'] = {
      sent,
      ok: 0,
      failed: 0,
      aborted: 0,
      attempts: 0,
      retried: 0,
      retries: 0,
      finalStatus: {},
      attemptStatus: {},
    };
    const answers: ScenarioReport['answers'] = { commit: 0, delete: 0, keep_pending: 0, accepted: 0, timedOut: 0, unreadable: 0 };
    for (const [, result] of results) {
      callbacks.attempts += result.attempts.length;
      if (result.attempts.length > 1) {
        callbacks.retried++;
        callbacks.retries += result.attempts.length - 1;
      }
      for (const attempt of result.attempts) bump(callbacks.attemptStatus, attempt.status !== undefined ? String(attempt.status) : (attempt.errorKind ?? 'none'));
      bump(callbacks.finalStatus, result.aborted ? 'aborted' : finalStatusOf(result));
      if (result.aborted) callbacks.aborted++;
      else if (result.ok) callbacks.ok++;
      else callbacks.failed++;
      if (result.ok) {
        const answer = result.answer;
        if (answer === undefined) answers.unreadable++;
        else {
          if (answer.action !== undefined) answers[answer.action]++;
          else if (answer.accepted) answers.accepted++;
          if (answer.timedOut) answers.timedOut++;
        }
      }
    }

    const api: ScenarioReport['api'] = { decisionCalls: 0, byStatus: {}, faultsInjected: 0, retriedMessages: 0, retries: 0 };
    let lateDecisions = 0;
    const callsPerMessage = new Map<string, number>();
    for (const call of mock.calls.slice(callsBefore)) {
      if ((call.action !== 'commit' && call.action !== 'delete') || call.messageId === undefined) continue;
      const entry = byId.get(call.messageId);
      if (entry === undefined) continue;
      api.decisionCalls++;
      bump(api.byStatus, String(call.status));
      if (call.injected) api.faultsInjected++;
      callsPerMessage.set(call.messageId, (callsPerMessage.get(call.messageId) ?? 0) + 1);
      if (entry.expiredAtEpoch !== undefined && call.at >= entry.expiredAtEpoch && !call.injected) lateDecisions++;
    }
    for (const [id, count] of callsPerMessage) {
      byId.get(id)!.record.apiCalls = count;
      if (count > 1) {
        api.retriedMessages++;
        api.retries += count - 1;
      }
    }

    const decisionSamples = tracked.flatMap(({ record }) => (record.decisionMs === undefined ? [] : [record.decisionMs]));
    const answerSamples = tracked.flatMap(({ record }) => (record.answerMs === undefined ? [] : [record.answerMs]));
    for (const { record } of tracked) {
      if (record.decisionMs !== undefined) record.decisionMs = Math.round(record.decisionMs * 10) / 10;
      if (record.answerMs !== undefined) record.answerMs = Math.round(record.answerMs * 10) / 10;
      if (record.expiredMs !== undefined) record.expiredMs = Math.round(record.expiredMs * 10) / 10;
    }

    return {
      settings: {
        mode,
        target: targetUrl,
        inProcess,
        apiUrl: mock.url,
        messages: total,
        rate,
        badShare,
        slowShare,
        apiFaults: faults,
        timeoutMs,
        fallback,
        gzip: options.gzip ?? false,
        seed,
        twirpPrefix: mode === 'rest' ? undefined : twirpPrefix,
        warmup,
      },
      startedAt,
      durationMs: Math.round(performance.now() - started),
      outcome,
      byKind,
      callbacks,
      answers,
      decisionLatency: {
        ...summarizeLatencies(decisionSamples),
        timeoutMs,
        overTimeout: decisionSamples.filter((ms) => ms > timeoutMs).length,
      },
      lateDecisions,
      answerLatency: summarizeLatencies(answerSamples),
      api,
      deletedCallbacks: { ...deletedStats },
      details: tracked.map(({ record }) => ({ ...record })),
    };
  }
}

/** One progress line: `  1.0 s  sent 20/40  decided 15  expired 0  in flight 5  failed 0`. */
export function formatProgress(progress: ScenarioProgress): string {
  return `${(progress.elapsedMs / 1000).toFixed(1).padStart(6)} s  sent ${progress.sent}/${progress.total}  decided ${progress.decided}  expired ${progress.expired}  in flight ${progress.inFlight}  failed ${progress.failed}`;
}

function counts(map: Record<string, number>): string {
  const entries = Object.entries(map).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '—' : entries.map(([key, n]) => `${key}×${n}`).join(' ');
}

function ms(value: number | undefined): string {
  return value === undefined ? '—' : value.toFixed(1);
}

/** A readable summary of a report: outcome table, callbacks, API, latency percentiles vs timeout_ms. */
export function formatScenarioReport(report: ScenarioReport): string {
  const { settings: s } = report;
  const lines: string[] = [];
  const faults = s.apiFaults.length === 0
    ? 'none'
    : s.apiFaults.map((f) => `${f.networkError ? 'network error' : (f.status ?? 503)} on ${Math.round(f.share * 100)}% of ${f.action ?? 'decision'} calls`).join(', ');
  lines.push(
    `scenario: ${s.messages} messages in ${s.mode}${s.twirpPrefix === undefined ? '' : ` (prefix ${JSON.stringify(s.twirpPrefix)})`} at ${Number.isFinite(s.rate) && s.rate > 0 ? `${s.rate}/s` : 'once'}, timeout_ms ${s.timeoutMs}, gzip ${s.gzip ? 'on' : 'off'}, seed ${s.seed}`,
  );
  lines.push(`  bad ${Math.round(s.badShare * 100)}%, slow ${Math.round(s.slowShare * 100)}%, API faults: ${faults}`);
  lines.push(`  target ${s.target}${s.inProcess ? ` (in-process, fallback ${s.fallback ?? 'custom hooks'})` : ''}; mock Stream API ${s.apiUrl}; ${report.durationMs} ms`);
  lines.push('');
  const row = (label: string, c: OutcomeCounts) =>
    `  ${label.padEnd(10)}${String(c.messages).padStart(8)}${String(c.committed).padStart(11)}${String(c.deleted).padStart(9)}${String(c.expired).padStart(9)}${String(c.pending).padStart(9)}`;
  lines.push(`  ${'messages'.padEnd(10)}${'total'.padStart(8)}${'committed'.padStart(11)}${'deleted'.padStart(9)}${'expired'.padStart(9)}${'pending'.padStart(9)}`);
  for (const kind of scenarioMessageKinds) if (report.byKind[kind].messages > 0) lines.push(row(kind, report.byKind[kind]));
  lines.push(row('all', report.outcome));
  lines.push('');
  const c = report.callbacks;
  lines.push(
    `  callbacks   sent ${c.sent}, ok ${c.ok}, failed ${c.failed}, cut off ${c.aborted}; attempts ${c.attempts} (${c.retried} retried, ${c.retries} retries)`,
  );
  lines.push(`              final status ${counts(c.finalStatus)}; every attempt ${counts(c.attemptStatus)}`);
  const a = report.answers;
  lines.push(
    `  answers     commit ${a.commit}, delete ${a.delete}, keep_pending ${a.keep_pending}, accepted ${a.accepted}; timed out ${a.timedOut}${a.unreadable ? `; unreadable ${a.unreadable}` : ''}`,
  );
  const api = report.api;
  lines.push(
    `  Stream API  decision calls ${api.decisionCalls} (${counts(api.byStatus)}); injected faults ${api.faultsInjected}; retried ${api.retriedMessages} messages, ${api.retries} retries`,
  );
  const d = report.deletedCallbacks;
  lines.push(`  Deleted     callbacks for expired messages: sent ${d.sent}, ok ${d.ok}, failed ${d.failed}, cut off ${d.aborted}`);
  lines.push('');
  const t = s.timeoutMs;
  const pct = (value: number | undefined) => (value === undefined ? '' : ` (${Math.round((value / t) * 100)}%)`);
  lines.push(`  latency ms  ${'n'.padStart(5)}${'p50'.padStart(9)}${'p90'.padStart(9)}${'p99'.padStart(9)}${'max'.padStart(9)}   vs timeout_ms ${t}`);
  const lat = (label: string, l: LatencySummary, note: string) => {
    const at = (value: number) => ms(l.count === 0 ? undefined : value).padStart(9);
    return `  ${label.padEnd(10)}  ${String(l.count).padStart(5)}${at(l.p50)}${at(l.p90)}${at(l.p99)}${at(l.max)}   ${note}`;
  };
  const dl = report.decisionLatency;
  lines.push(lat('decision', dl, `p99${pct(dl.count ? dl.p99 : undefined)}; ${dl.overTimeout} landed after timeout_ms; ${report.lateDecisions} refused as late (expired)`));
  lines.push(lat('answer', report.answerLatency, `p99${pct(report.answerLatency.count ? report.answerLatency.p99 : undefined)}`));
  return lines.join('\n');
}
