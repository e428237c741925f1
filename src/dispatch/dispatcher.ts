import { noMetrics, type HookMetrics } from '../observe/metrics.js';
import type { LineFields } from '../observe/json-line-bytes.js';
import { decisionFields, type DecisionLine } from './decision-line.js';
import type { Logger } from 'pino';
import { applyDecision, type ApplyReport, type ApplyRetryOptions } from '../decision/apply-decision.js';
import type { DecisionAction, Outcome, PassOnResult } from '../decision/decision.js';
import { isDecisionAction, type Decision } from '../decision/decision.js';
import type { ClaimResult, DedupeRecord, DedupeStore, DurableCallback, RecoveredCallback } from '../decision/dedupe-store.js';
import type { PendingMessageEvent } from '../event/pending-message-event.js';
import type { StreamApi } from '../stream-api/stream-api.js';
import type { DeletedHandler, PassOnHandler } from './handler.js';
import type { HandlerContext } from './handler.js';
import { HandlerRun, type RunOutcomes } from './handler-run.js';
import { ShutdownError } from '../core/deadline.js';
import { RequestScope } from '../core/request-scope.js';
import { InFlight } from '../core/in-flight.js';

/** How the PassOn callback is answered: with the decision, or at once with `{accepted: true}`. */
export type AnswerTiming = 'inline' | 'ack-first';

export interface DispatcherOptions {
  timeoutMs: number;
  fallback: DecisionAction;
  timing: AnswerTiming;
  applyReserveMs: number;
  retry: ApplyRetryOptions;
  dedupe: DedupeStore;
  /**
   * The dedupe key of a PassOn callback. Default `${apiKey}\n${webhookId}`; a server with one app
   * and an in-process store can use the webhook id as is (no string built and kept per callback).
   */
  dedupeKey?: (apiKey: string, webhookId: string) => string;
  /** The store keeps records by reference in this process: records of common outcomes may be shared (frozen). */
  shareRecords?: boolean;
  logger: Logger;
  /** Writes an `info` line of known fields as `logger` would, after the answer (the default logger has one). */
  infoLineLater?: <T>(entry: T, fields: (entry: T, out: LineFields) => void, msg: string) => void;
  /** The API that applies decisions for an app; undefined = dry run (decisions only logged). */
  apiFor(apiKey: string): StreamApi | undefined;
  handlers(): { passOn: PassOnHandler | undefined; deleted: DeletedHandler | undefined };
  /** Counts fallbacks, dedupe hits and API calls. Default: nothing. */
  metrics?: HookMetrics;
}

export interface Dispatcher {
  /**
   * Decides (or re-answers) a PassOnPendingMessage callback that arrived at `receivedAt`
   * (`performance.now()`). Answers synchronously when everything on the way is synchronous (a
   * synchronous handler, an in-memory dedupe store, a dry run), else with a promise.
   * `scope` is the request's (the server adapter marks it `clientGone`); the dispatcher sets its
   * deadline. One is made when none is given.
   */
  passOn(event: PendingMessageEvent, receivedAt: number, scope?: RequestScope): PassOnResult | Promise<PassOnResult>;
  deleted(event: PendingMessageEvent, receivedAt: number, scope?: RequestScope): Promise<void>;
  /**
   * Waits for decisions in progress; after `graceMs` aborts their scopes with `ShutdownError`:
   * handlers get the fallback (reason `shutdown`), API calls and retries stop.
   */
  close(graceMs: number): Promise<void>;
}

const shuttingDown = new ShutdownError('server is shutting down: the drain\'s grace period is over');

const accepted: PassOnResult = Object.freeze({ kind: 'accepted' });
const passOnWhat = 'PassOnPendingMessage handler';
// The answer must leave before timeoutMs: stop applying this much earlier in inline timing.
// Room for what happens at the deadline itself: 200 callbacks of a hung API reaching it together
// took ~40 ms to answer (their calls are torn down after; test/production/overload.test.ts).
const answerMarginMs = 40;
const round2 = (ms: number) => Math.round(ms * 100) / 100;

const dryRunApplied: ApplyReport = Object.freeze({ status: 'applied', attempts: 0, detail: 'dry run' });
const dryRunNothing: ApplyReport = Object.freeze({ status: 'nothing_to_do', attempts: 0, detail: 'dry run' });
// Shared stores: a claim outlives the owner's budget by this much, so no one else claims while
// the owner may still apply; a waiter asks again this often for the owner's decision.
const claimLeaseSlackMs = 1000;
const claimPollMs = 15;
const ackFirstFailed = 'ack-first decision not applied within its budget: recorded as failed';
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { timeoutMs, fallback, timing, dedupe, logger, retry, infoLineLater } = options;
  const metrics = options.metrics ?? noMetrics;
  // A store shared between processes claims each callback first (see passOnShared); the
  // in-process store keeps the synchronous path below untouched.
  const shared = typeof dedupe.claim === 'function';
  const marksDecisions = shared && timing === 'ack-first' && typeof dedupe.markDecided === 'function';
  const leaseMs = timeoutMs + claimLeaseSlackMs;
  const dedupeKey = options.dedupeKey ?? ((apiKey: string, webhookId: string) => `${apiKey}\n${webhookId}`);
  // The handler's deadline is timeoutMs − applyReserveMs after arrival. A reserve that would
  // leave the handler no time at all is halved against the budget instead (and warned about).
  const reserve = options.applyReserveMs < timeoutMs ? options.applyReserveMs : timeoutMs / 2;
  if (reserve !== options.applyReserveMs) {
    logger.warn({ timeoutMs, applyReserveMs: options.applyReserveMs, usedReserveMs: reserve }, 'applyReserveMs is not below timeoutMs: the handler gets half the budget');
  }
  const fallbackFor = (reason: string, timedOut: boolean): Outcome => Object.freeze({ action: fallback, reason, timedOut });
  const timeoutOutcome = fallbackFor('timeout', true);
  const errorOutcome = fallbackFor('handler_error', false);
  const shutdownOutcome = fallbackFor('shutdown', false);
  const noHandlerOutcome = fallbackFor('no_handler', false);
  const deletedOutcome: Outcome = Object.freeze({ action: 'delete', timedOut: false });
  const plainOutcomes = new Map<string, Outcome>(['commit', 'delete', 'keep_pending'].map((a) => [a, Object.freeze({ action: a as DecisionAction, timedOut: false })]));
  // With the in-process store, records (and answers) of the shared outcomes are shared too:
  // nothing is allocated per remembered callback. Other stores get a record of their own each time.
  const appliedRecords = new Map<Outcome, DedupeRecord>();
  const decidedResults = new Map<DedupeRecord, PassOnResult>();
  function share(outcome: Outcome): Outcome {
    if (options.shareRecords) {
      const record: DedupeRecord = Object.freeze({ outcome, applied: true });
      appliedRecords.set(outcome, record);
      decidedResults.set(record, Object.freeze({ kind: 'decided', outcome }));
    }
    return outcome;
  }
  for (const outcome of [...plainOutcomes.values(), timeoutOutcome, errorOutcome, shutdownOutcome, noHandlerOutcome]) share(outcome);
  // Handler reasons are usually a few constants ("spam", "blocklist"): the first ones met are
  // kept per action, up to a cap, so a reason that changes per message never grows memory.
  const reasonOutcomes = new Map<string, Map<string, Outcome>>(['commit', 'delete', 'keep_pending'].map((a) => [a, new Map()]));
  const reasonOutcomesCap = 64;

  function outcomeWithReason(action: DecisionAction, reason: string): Outcome {
    const known = reasonOutcomes.get(action)!;
    const outcome = known.get(reason);
    if (outcome !== undefined) return outcome;
    if (known.size >= reasonOutcomesCap) return { action, reason, timedOut: false };
    const shared = share(Object.freeze({ action, reason, timedOut: false }));
    known.set(reason, shared);
    return shared;
  }

  /**
   * Decisions in progress, by dedupe key (concurrent duplicates share them), each with its
   * request's scope for a graceful close. Not a Map: see InFlight.
   */
  const inflight = new InFlight<Promise<DedupeRecord>, RequestScope>();
  const runOutcomes: RunOutcomes<Outcome> = {
    ended(why) {
      metrics.fallback(why === 'timeout' ? 'timeout' : 'shutdown');
      return why === 'timeout' ? timeoutOutcome : shutdownOutcome;
    },
    failed(error, event, what) {
      metrics.fallback('handler_error');
      const label = what === passOnWhat ? 'handler' : what;
      logger.error({ err: error, webhookId: event.webhookId, messageId: event.message.id }, `${label} threw; fallback applied`);
      return errorOutcome;
    },
  };
  const logsDecisions = () => logger.isLevelEnabled('info');

  function toOutcome(decision: Decision | undefined): Outcome {
    if (!decision || !isDecisionAction(decision.action)) {
      logger.error({ returned: decision }, 'handler returned no decision; fallback applied');
      metrics.fallback('handler_error');
      return errorOutcome;
    }
    return decision.reason === undefined ? plainOutcomes.get(decision.action)! : outcomeWithReason(decision.action, String(decision.reason));
  }
  const toDeletedOutcome = (): Outcome => deletedOutcome;

  /** Runs the handler under its deadline: an Outcome now for a synchronous handler, else a promise. */
  function runHandler<R>(
    handler: (event: PendingMessageEvent, context: HandlerContext) => R | Promise<R>,
    convert: (result: R) => Outcome,
    what: string,
    event: PendingMessageEvent,
    deadlineAt: number,
    scope: RequestScope,
  ): Outcome | Promise<Outcome> {
    // The handler's deadline never comes after its scope's.
    const run = new HandlerRun<Outcome>(Math.min(deadlineAt, scope.deadlineAt), what, event, logger, runOutcomes, scope);
    return run.invoke(handler, convert);
  }

  function decide(event: PendingMessageEvent, receivedAt: number, scope: RequestScope): Outcome | Promise<Outcome> {
    const handler = options.handlers().passOn;
    if (!handler) {
      metrics.fallback('no_handler');
      return noHandlerOutcome;
    }
    return runHandler(handler, toOutcome, passOnWhat, event, receivedAt + timeoutMs - reserve, scope);
  }

  /** The request's scope, its deadline the instant by which the decision must be applied. */
  function scopeFor(receivedAt: number, scope: RequestScope | undefined): RequestScope {
    const applyBy = receivedAt + timeoutMs - (timing === 'inline' ? answerMarginMs : 0);
    if (scope === undefined) return new RequestScope(applyBy);
    scope.deadlineAt = applyBy;
    return scope;
  }

  function apply(event: PendingMessageEvent, outcome: Outcome, scope: RequestScope): ApplyReport | Promise<ApplyReport> {
    const api = options.apiFor(event.apiKey);
    if (!api) return outcome.action === 'keep_pending' ? dryRunNothing : dryRunApplied;
    return applyDecision(api, outcome.action, event.message.id, scope, retry, metrics);
  }

  /** Decide (unless remembered), apply, remember: synchronous as long as every step is. */
  function decideAndApply(event: PendingMessageEvent, receivedAt: number, key: string | undefined, remembered: Outcome | undefined, scope: RequestScope): DedupeRecord | Promise<DedupeRecord> {
    const replayed = remembered !== undefined;
    const outcome = remembered ?? decide(event, receivedAt, scope);
    if (outcome instanceof Promise) return outcome.then((decided) => applyAndRemember(event, receivedAt, key, decided, replayed, scope));
    return applyAndRemember(event, receivedAt, key, outcome, replayed, scope);
  }

  function applyAndRemember(event: PendingMessageEvent, receivedAt: number, key: string | undefined, outcome: Outcome, replayed: boolean, scope: RequestScope): DedupeRecord | Promise<DedupeRecord> {
    if (marksDecisions && key !== undefined && !replayed) dedupe.markDecided!(key, outcome);
    const applying = apply(event, outcome, scope);
    if (applying instanceof Promise) return applying.then((report) => remember(event, receivedAt, key, outcome, replayed, report, scope));
    return remember(event, receivedAt, key, outcome, replayed, applying, scope);
  }

  function remember(event: PendingMessageEvent, receivedAt: number, key: string | undefined, outcome: Outcome, replayed: boolean, report: ApplyReport, scope: RequestScope): DedupeRecord | Promise<DedupeRecord> {
    // A decision Stream rejected for good is answered like an applied one (and remembered):
    // a 503 would only bring Stream's retries, refused the same way.
    const applied = report.status !== 'failed';
    const record: DedupeRecord = (applied && appliedRecords.get(outcome)) || { outcome, applied };
    const storing = key === undefined ? undefined : dedupe.set(key, record);
    if (storing) {
      return storing.then(() => {
        if (!applied || report.status === 'rejected' || logsDecisions()) logDecision(event, receivedAt, outcome, replayed, report, scope);
        return record;
      });
    }
    if (!applied || report.status === 'rejected' || logsDecisions()) logDecision(event, receivedAt, outcome, replayed, report, scope);
    return record;
  }

  function logDecision(event: PendingMessageEvent, receivedAt: number, outcome: Outcome, replayed: boolean, report: ApplyReport, scope: RequestScope): void {
    const latencyMs = round2(performance.now() - receivedAt);
    const budgetLeftMs = round2(timeoutMs - latencyMs);
    if (infoLineLater !== undefined && !scope.clientGone && (report.status === 'applied' || report.status === 'nothing_to_do')) {
      const line: DecisionLine = {
        webhookId: event.webhookId,
        messageId: event.message.id,
        apiKey: event.apiKey,
        transport: event.transport,
        attempt: event.attempt,
        outcome,
        report,
        replayed,
        latencyMs,
        budgetLeftMs,
      };
      infoLineLater(line, decisionFields, 'decision');
      return;
    }
    const line = {
      webhookId: event.webhookId,
      messageId: event.message.id,
      apiKey: event.apiKey,
      transport: event.transport,
      attempt: event.attempt,
      action: outcome.action,
      reason: outcome.reason,
      timedOut: outcome.timedOut,
      applied: report.status,
      apiCalls: report.attempts,
      replayed,
      // The client closed the connection before the answer: the decision was made and applied all the same.
      clientGone: scope.clientGone || undefined,
      latencyMs,
      budgetLeftMs,
    };
    if (report.status === 'failed') logger.error({ ...line, detail: report.detail }, timing === 'ack-first' ? ackFirstFailed : 'decision not applied');
    else if (report.status === 'rejected') logger.error({ ...line, detail: report.detail }, 'decision rejected by Stream: not applied, answered, not retried');
    // already_done says why (not pending any more, or gone: deleted or expired before the decision).
    else logger.info(report.status === 'already_done' ? { ...line, detail: report.detail } : line, 'decision');
  }

  function asResult(record: DedupeRecord): PassOnResult {
    if (timing === 'ack-first') return accepted;
    if (!record.applied) return { kind: 'not_applied', outcome: record.outcome };
    return decidedResults.get(record) ?? { kind: 'decided', outcome: record.outcome };
  }

  /** Registers asynchronous work for dedupe and for close() until it ends. */
  function track(key: string | undefined, work: Promise<DedupeRecord>, scope: RequestScope): Promise<DedupeRecord> {
    const entry = inflight.add(key, work, scope);
    const done = () => inflight.remove(entry);
    work.then(done, (error: unknown) => {
      done();
      logger.error({ err: error, key }, 'decision failed');
    });
    return work;
  }

  function start(event: PendingMessageEvent, receivedAt: number, key: string | undefined, remembered: Outcome | undefined, scope: RequestScope): PassOnResult | Promise<PassOnResult> {
    let work: DedupeRecord | Promise<DedupeRecord>;
    try {
      work = decideAndApply(event, receivedAt, key, remembered, scope);
    } catch (error) {
      work = Promise.reject(error); // same path as an asynchronous failure: logged, answered as internal
    }
    if (!(work instanceof Promise)) return asResult(work);
    track(key, work, scope);
    return timing === 'ack-first' ? accepted : work.then(asResult);
  }

  function joinInflight(work: Promise<DedupeRecord>): PassOnResult | Promise<PassOnResult> {
    return timing === 'ack-first' ? accepted : work.then(asResult);
  }

  function logDuplicate(event: PendingMessageEvent, known: DedupeRecord): void {
    metrics.dedupeHit();
    logger.info({ webhookId: event.webhookId, messageId: event.message.id, attempt: event.attempt, action: known.outcome.action }, 'duplicate callback: answered the remembered decision');
  }

  function afterLookup(event: PendingMessageEvent, receivedAt: number, key: string, known: DedupeRecord | undefined, scope: RequestScope | undefined): PassOnResult | Promise<PassOnResult> {
    if (known?.applied) {
      logDuplicate(event, known);
      return asResult(known);
    }
    return start(event, receivedAt, key, known?.outcome, scopeFor(receivedAt, scope));
  }

  function rememberedOrDecided(event: PendingMessageEvent, receivedAt: number, key: string, known: DedupeRecord | undefined, scope: RequestScope): DedupeRecord | Promise<DedupeRecord> {
    if (known?.applied) {
      logDuplicate(event, known);
      return known;
    }
    return decideAndApply(event, receivedAt, key, known?.outcome, scope);
  }

  /** Claimed elsewhere in ack-first: the owner (or whoever takes its callback over) applies it. */
  const elsewhere: DedupeRecord = Object.freeze({ outcome: noHandlerOutcome, applied: true });
  const toAccepted = (): PassOnResult => accepted;

  function afterClaim(event: PendingMessageEvent, receivedAt: number, key: string, claim: ClaimResult, scope: RequestScope): DedupeRecord | Promise<DedupeRecord> {
    if (claim.status === 'known') {
      logDuplicate(event, claim.record);
      return claim.record;
    }
    if (claim.status === 'claimed') return decideAndApply(event, receivedAt, key, claim.record?.outcome, scope);
    if (timing === 'ack-first') {
      logger.debug({ webhookId: event.webhookId, messageId: event.message.id }, 'duplicate callback: another instance is deciding it');
      return elsewhere;
    }
    return waitForOther(event, receivedAt, key, scope);
  }

  /** Inline, claimed by another instance: its decision is answered when it comes within the budget. */
  async function waitForOther(event: PendingMessageEvent, receivedAt: number, key: string, scope: RequestScope): Promise<DedupeRecord> {
    const until = scope.deadlineAt;
    for (;;) {
      const left = until - performance.now();
      if (left <= 0) {
        logger.warn({ webhookId: event.webhookId, messageId: event.message.id, attempt: event.attempt }, "duplicate callback: another instance's decision did not come within the budget; answered 503 so Stream retries");
        return { outcome: timeoutOutcome, applied: false };
      }
      await delay(Math.min(claimPollMs, left));
      const claim = await dedupe.claim!(key, { leaseMs });
      if (claim.status !== 'busy') return afterClaim(event, receivedAt, key, claim, scope);
    }
  }

  function passOnShared(event: PendingMessageEvent, receivedAt: number, requestScope?: RequestScope): PassOnResult | Promise<PassOnResult> {
    const scope = scopeFor(receivedAt, requestScope);
    if (!event.webhookId) return start(event, receivedAt, undefined, undefined, scope);
    const key = dedupeKey(event.apiKey, event.webhookId);
    const work = inflight.find(key);
    if (work) return joinInflight(work);
    let durable: DurableCallback | undefined;
    if (timing === 'ack-first') {
      const arrivedAt = performance.timeOrigin + receivedAt;
      durable = { event, arrivedAt, deadline: arrivedAt + timeoutMs };
    }
    const claiming = dedupe.claim!(key, { leaseMs, durable });
    const decided = track(key, claiming.then((claim) => afterClaim(event, receivedAt, key, claim, scope)), scope);
    // Ack-first: `accepted` goes out once the claim (and the durable record with it) is written.
    return timing === 'ack-first' ? claiming.then(toAccepted, toAccepted) : decided.then(asResult);
  }

  /** An ack-first callback of a stopped instance: decided (unless it was) and applied within what is left of its budget. */
  async function recovered(callback: RecoveredCallback): Promise<void> {
    if (inflight.find(callback.key) !== undefined) return;
    const receivedAt = callback.arrivedAt - performance.timeOrigin;
    const scope = scopeFor(receivedAt, undefined);
    await track(callback.key, Promise.resolve().then(() => decideAndApply(callback.event, receivedAt, callback.key, callback.outcome, scope)), scope);
  }
  const stopRecovering = shared ? dedupe.recover?.(recovered) : undefined;

  return {
    passOn: shared ? passOnShared : (event, receivedAt, requestScope) => {
      if (!event.webhookId) return start(event, receivedAt, undefined, undefined, scopeFor(receivedAt, requestScope));
      const key = dedupeKey(event.apiKey, event.webhookId);
      const work = inflight.find(key);
      if (work) return joinInflight(work);
      const lookup = dedupe.get(key);
      if (!(lookup instanceof Promise)) return afterLookup(event, receivedAt, key, lookup, requestScope);
      // An asynchronous store: the callback is in flight from now on, so a concurrent duplicate
      // joins it instead of looking up (and deciding) again while the store answers.
      const scope = scopeFor(receivedAt, requestScope);
      const decided = track(key, lookup.then((known) => rememberedOrDecided(event, receivedAt, key, known, scope)), scope);
      return timing === 'ack-first' ? accepted : decided.then(asResult);
    },

    async deleted(event, receivedAt, requestScope) {
      const key = event.webhookId ? `deleted\n${event.apiKey}\n${event.webhookId}` : undefined;
      if (key !== undefined) {
        const work = inflight.find(key);
        if (work) {
          await work;
          return;
        }
        if (await dedupe.get(key)) return;
      }
      const handler = options.handlers().deleted;
      const deadlineAt = receivedAt + Math.min(timeoutMs, 5000) - answerMarginMs;
      const scope = requestScope ?? new RequestScope(deadlineAt);
      scope.deadlineAt = deadlineAt;
      const work = (async (): Promise<DedupeRecord> => {
        const outcome = handler ? await runHandler(handler, toDeletedOutcome, 'DeletedPendingMessage handler', event, deadlineAt, scope) : deletedOutcome;
        const record: DedupeRecord = { outcome, applied: true };
        if (key !== undefined) await dedupe.set(key, record);
        if (logsDecisions()) {
          logger.info(
            { webhookId: event.webhookId, messageId: event.message.id, apiKey: event.apiKey, transport: event.transport, method: 'DeletedPendingMessage', timedOut: outcome.timedOut, latencyMs: round2(performance.now() - receivedAt) },
            'deleted',
          );
        }
        return record;
      })();
      await track(key, work, scope);
    },

    async close(graceMs) {
      // A closing process takes over no more callbacks of stopped ones: another instance will.
      stopRecovering?.();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled(inflight.values()), grace]);
      clearTimeout(timer);
      // Past the grace: every request still in flight is aborted, handler, API call and retries alike.
      for (const scope of inflight.tags()) scope.abort(shuttingDown);
      await Promise.allSettled(inflight.values());
    },
  };
}
