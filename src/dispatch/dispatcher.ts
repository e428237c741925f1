import type { Logger } from 'pino';
import { applyDecision, type ApplyReport, type ApplyRetryOptions } from '../decision/apply-decision.js';
import type { DecisionAction, Outcome } from '../decision/decision.js';
import { isDecisionAction } from '../decision/decision.js';
import type { DedupeRecord, DedupeStore } from '../decision/dedupe-store.js';
import type { PendingMessageEvent } from '../event/pending-message-event.js';
import type { StreamApi } from '../stream-api/stream-api.js';
import { createDeadline, DeadlineExceededError, type Deadline } from './deadline.js';
import type { DeletedHandler, HandlerContext, PassOnHandler } from './handler.js';

/** How the PassOn callback is answered: with the decision, or at once with `{accepted: true}`. */
export type AnswerTiming = 'inline' | 'ack-first';

export interface DispatcherOptions {
  timeoutMs: number;
  fallback: DecisionAction;
  timing: AnswerTiming;
  applyReserveMs: number;
  retry: ApplyRetryOptions;
  dedupe: DedupeStore;
  logger: Logger;
  /** The API that applies decisions for an app; undefined = dry run (decisions only logged). */
  apiFor(apiKey: string): StreamApi | undefined;
  handlers(): { passOn: PassOnHandler | undefined; deleted: DeletedHandler | undefined };
}

export type PassOnResult =
  | { readonly kind: 'decided'; readonly outcome: Outcome }
  | { readonly kind: 'accepted' }
  | { readonly kind: 'not_applied'; readonly outcome: Outcome };

export interface Dispatcher {
  /** Decides (or re-answers) a PassOnPendingMessage callback that arrived at `receivedAt` (`performance.now()`). */
  passOn(event: PendingMessageEvent, receivedAt: number): Promise<PassOnResult>;
  deleted(event: PendingMessageEvent, receivedAt: number): Promise<void>;
  /** Waits for decisions in progress; after `graceMs` aborts their handlers (fallback, reason `shutdown`). */
  close(graceMs: number): Promise<void>;
}

class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
}

const accepted: PassOnResult = Object.freeze({ kind: 'accepted' });
// The answer must leave before timeoutMs: stop applying this much earlier in inline timing.
const answerMarginMs = 5;

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { timeoutMs, fallback, timing, dedupe, logger, retry } = options;
  const reserve = Math.min(options.applyReserveMs, timeoutMs / 2);
  const timeoutOutcome: Outcome = Object.freeze({ action: fallback, reason: 'timeout', timedOut: true });
  const errorOutcome: Outcome = Object.freeze({ action: fallback, reason: 'handler_error', timedOut: false });
  const shutdownOutcome: Outcome = Object.freeze({ action: fallback, reason: 'shutdown', timedOut: false });
  const noHandlerOutcome: Outcome = Object.freeze({ action: fallback, reason: 'no_handler', timedOut: false });
  const inflight = new Map<string, Promise<DedupeRecord>>();
  const running = new Set<Promise<unknown>>();
  const activeDeadlines = new Set<Deadline>();

  function track<T>(work: Promise<T>): Promise<T> {
    running.add(work);
    void work.finally(() => running.delete(work)).catch(() => {});
    return work;
  }

  function contextFor(event: PendingMessageEvent, deadline: Deadline): HandlerContext {
    let log: Logger | undefined;
    const wallDeadline = Date.now() + deadline.remainingMs();
    return {
      signal: deadline.signal,
      deadline: wallDeadline,
      remainingMs: deadline.remainingMs,
      get log() {
        return (log ??= logger.child({ webhookId: event.webhookId, messageId: event.message.id }));
      },
    };
  }

  /** Runs a handler under its deadline. Never races without cancelling: the signal fires at the deadline. */
  function runUnderDeadline<T>(
    deadlineAt: number,
    what: string,
    invoke: (deadline: Deadline) => T | Promise<T>,
    onTimeout: T,
    onShutdown: T,
    onError: (error: unknown) => T,
  ): Promise<T> {
    const deadline = createDeadline(deadlineAt, what);
    activeDeadlines.add(deadline);
    const signal = deadline.signal;
    return new Promise<T>((resolve) => {
      let settled = false;
      const settle = (value: T) => {
        if (settled) return;
        settled = true;
        deadline.cancel();
        activeDeadlines.delete(deadline);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () => settle(signal.reason instanceof DeadlineExceededError ? onTimeout : onShutdown);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort);
      let result: T | Promise<T>;
      try {
        result = invoke(deadline);
      } catch (error) {
        return settle(onError(error));
      }
      if (result instanceof Promise) {
        result.then(
          (value) => {
            if (settled) logger.debug({ what }, 'late result dropped: the deadline had passed');
            settle(value);
          },
          (error: unknown) => {
            // A handler that gives up when its signal fires rejects after the fallback was chosen.
            if (settled) logger.debug({ what, err: error }, 'late rejection dropped: the deadline had passed');
            else settle(onError(error));
          },
        );
      } else settle(result);
    });
  }

  function decide(event: PendingMessageEvent, receivedAt: number): Promise<Outcome> {
    const handler = options.handlers().passOn;
    if (!handler) return Promise.resolve(noHandlerOutcome);
    return runUnderDeadline<Outcome>(
      receivedAt + timeoutMs - reserve,
      'PassOnPendingMessage handler',
      async (deadline) => {
        const decision = await handler(event, contextFor(event, deadline));
        if (!decision || !isDecisionAction(decision.action)) {
          logger.error({ webhookId: event.webhookId, messageId: event.message.id, returned: decision }, 'handler returned no decision; fallback applied');
          return errorOutcome;
        }
        return decision.reason === undefined
          ? { action: decision.action, timedOut: false }
          : { action: decision.action, reason: String(decision.reason), timedOut: false };
      },
      timeoutOutcome,
      shutdownOutcome,
      (error) => {
        logger.error({ err: error, webhookId: event.webhookId, messageId: event.message.id }, 'handler threw; fallback applied');
        return errorOutcome;
      },
    );
  }

  async function apply(event: PendingMessageEvent, outcome: Outcome, receivedAt: number): Promise<ApplyReport> {
    const api = options.apiFor(event.apiKey);
    if (!api) return { status: outcome.action === 'keep_pending' ? 'nothing_to_do' : 'applied', attempts: 0, detail: 'dry run' };
    const applyBy = receivedAt + timeoutMs - (timing === 'inline' ? answerMarginMs : 0);
    return applyDecision(api, outcome.action, event.message.id, applyBy, retry);
  }

  async function decideAndApply(
    event: PendingMessageEvent,
    receivedAt: number,
    key: string | undefined,
    remembered: Outcome | undefined,
  ): Promise<DedupeRecord> {
    const outcome = remembered ?? (await decide(event, receivedAt));
    const report = await apply(event, outcome, receivedAt);
    const record: DedupeRecord = { outcome, applied: report.status !== 'failed' };
    if (key !== undefined) await dedupe.set(key, record);
    const latencyMs = performance.now() - receivedAt;
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
      replayed: remembered !== undefined,
      latencyMs: Math.round(latencyMs * 100) / 100,
      budgetLeftMs: Math.round((timeoutMs - latencyMs) * 100) / 100,
    };
    if (report.status === 'failed') logger.error({ ...line, detail: report.detail }, 'decision not applied');
    else logger.info(line, 'decision');
    return record;
  }

  function asResult(record: DedupeRecord): PassOnResult {
    if (timing === 'ack-first') return accepted;
    return record.applied ? { kind: 'decided', outcome: record.outcome } : { kind: 'not_applied', outcome: record.outcome };
  }

  function start(event: PendingMessageEvent, receivedAt: number, key: string | undefined, remembered: Outcome | undefined): Promise<PassOnResult> {
    const work = track(decideAndApply(event, receivedAt, key, remembered));
    if (key !== undefined) {
      inflight.set(key, work);
      void work.finally(() => inflight.delete(key)).catch(() => {});
    }
    if (timing === 'ack-first') {
      work.catch((error: unknown) => logger.error({ err: error, webhookId: event.webhookId }, 'ack-first decision failed'));
      return Promise.resolve(accepted);
    }
    return work.then(asResult);
  }

  return {
    async passOn(event, receivedAt) {
      const key = event.webhookId ? `${event.apiKey}\n${event.webhookId}` : undefined;
      if (key === undefined) return start(event, receivedAt, undefined, undefined);
      let running = inflight.get(key);
      if (running) return timing === 'ack-first' ? accepted : asResult(await running);
      const known = await dedupe.get(key);
      running = inflight.get(key); // a concurrent duplicate may have started while an async store answered
      if (running) return timing === 'ack-first' ? accepted : asResult(await running);
      if (known?.applied) {
        logger.info({ webhookId: event.webhookId, messageId: event.message.id, attempt: event.attempt, action: known.outcome.action }, 'duplicate callback: answered the remembered decision');
        return asResult(known);
      }
      return start(event, receivedAt, key, known?.outcome);
    },

    async deleted(event, receivedAt) {
      const key = event.webhookId ? `deleted\n${event.apiKey}\n${event.webhookId}` : undefined;
      if (key !== undefined) {
        const running = inflight.get(key);
        if (running) {
          await running;
          return;
        }
        if (await dedupe.get(key)) return;
      }
      const handler = options.handlers().deleted;
      const work = track(
        (async (): Promise<DedupeRecord> => {
          let outcome: Outcome = { action: 'delete', timedOut: false };
          if (handler) {
            outcome = await runUnderDeadline<Outcome>(
              receivedAt + Math.min(timeoutMs, 5000) - answerMarginMs,
              'DeletedPendingMessage handler',
              async (deadline) => {
                await handler(event, contextFor(event, deadline));
                return outcome;
              },
              timeoutOutcome,
              shutdownOutcome,
              (error) => {
                logger.error({ err: error, webhookId: event.webhookId, messageId: event.message.id }, 'DeletedPendingMessage handler threw');
                return errorOutcome;
              },
            );
          }
          const record: DedupeRecord = { outcome, applied: true };
          if (key !== undefined) await dedupe.set(key, record);
          logger.info(
            { webhookId: event.webhookId, messageId: event.message.id, apiKey: event.apiKey, transport: event.transport, method: 'DeletedPendingMessage', timedOut: outcome.timedOut, latencyMs: Math.round((performance.now() - receivedAt) * 100) / 100 },
            'deleted',
          );
          return record;
        })(),
      );
      if (key !== undefined) {
        inflight.set(key, work);
        void work.finally(() => inflight.delete(key)).catch(() => {});
      }
      await work;
    },

    async close(graceMs) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled([...running]), grace]);
      clearTimeout(timer);
      for (const deadline of activeDeadlines) deadline.abort(new ShutdownError('server is shutting down'));
      await Promise.allSettled([...running]);
    },
  };
}
