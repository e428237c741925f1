import type { Logger } from 'pino';
import { InFlight } from '../core/in-flight.js';
import { createDefaultLogger } from '../observe/default-logger.js';
import { noMetrics, type EventOutcome, type HookMetrics } from '../observe/metrics.js';
import { EventHandlerError, type EventContext, type EventDelivery, type EventErrorHandler, type EventHandler } from './event-handler.js';
import { compileEventPattern, type EventPattern, type EventsMatching, type EventTypeTest } from './event-pattern.js';
import { isKnownEventType, type StreamEvent } from './stream-events.js';

export interface EventWebhooksOptions {
  /** Where deliveries are logged (one line each) and failures without an `onError` handler. Default: pino at `LOG_LEVEL` or info. */
  logger?: Logger;
}

/** What came of one `dispatch`: how many handlers matched, and the failures (also given to `onError`). */
export interface EventDispatchResult {
  readonly handlers: number;
  readonly errors: readonly EventHandlerError[];
}

/**
 * Event handlers by type, for every way Stream delivers events: webhooks (served by the
 * pending-hooks server as `hooks.events`), SQS and SNS (`pending-hooks/deliveries` decodes
 * them; give the events to `dispatch`).
 */
export interface EventWebhooks {
  /**
   * Registers a handler for one pattern or several: `on('message.new', h)`,
   * `on(['message.new', 'message.updated'], h)`, `on('message.*', h)`. Handlers matching an event
   * run concurrently; each failure goes to the `onError` handlers.
   */
  on<P extends EventPattern>(patterns: P | readonly P[], handler: EventHandler<EventsMatching<P>>): EventWebhooks;
  /** Registers a handler for every event, of types known today or added later. */
  onAny(handler: EventHandler<StreamEvent>): EventWebhooks;
  /** Registers a handler told of every handler failure. Without one, failures are logged at error level. */
  onError(handler: EventErrorHandler): EventWebhooks;
  /** How many event handlers are registered (`onError` ones not counted). */
  readonly size: number;
  /**
   * Runs the handlers matching the event and resolves once they settled, failures reported
   * through `onError` first. Never rejects for a handler's failure (see `errors`); rejects for a
   * value that is not an event or once closed.
   */
  dispatch(event: StreamEvent, delivery?: Partial<EventDelivery>): Promise<EventDispatchResult>;
  /** Refuses new dispatches, waits for the running ones (aborting their signal after `graceMs`, default 10 s). */
  close(graceMs?: number): Promise<void>;
}

interface Registration {
  readonly pattern: string;
  readonly matches: EventTypeTest;
  readonly handler: EventHandler<StreamEvent>;
}

/** After the grace period, handlers that ignore their aborted signal are waited for this much longer. */
const abortedWaitMs = 1000;

/** Creates an event handler registry (standalone, e.g. for an SQS consumer; a pending-hooks server has its own as `hooks.events`). */
export function createEventWebhooks(options: EventWebhooksOptions = {}): EventWebhooks {
  return createEventRegistry(options.logger ?? createDefaultLogger(undefined).logger, noMetrics);
}

/** The registry with the server's metrics. */
export function createEventRegistry(logger: Logger, metrics: HookMetrics): EventWebhooks {
  const registrations: Registration[] = [];
  const errorHandlers: EventErrorHandler[] = [];
  /** Dispatches still running, for close(). Not a Set: see InFlight. */
  const running = new InFlight<Promise<unknown>>();
  const shutdown = new AbortController();
  let closed = false;

  function register(pattern: string, handler: unknown): void {
    if (typeof handler !== 'function') throw new TypeError(`pending-hooks: the handler for ${JSON.stringify(pattern)} must be a function`);
    registrations.push({ pattern, matches: compileEventPattern(pattern), handler: handler as EventHandler<StreamEvent> });
  }

  async function report(error: EventHandlerError, log: Logger): Promise<void> {
    if (errorHandlers.length === 0) {
      log.error({ err: error.cause, pattern: error.pattern }, 'event handler failed (no onError handler registered)');
      return;
    }
    for (const onError of errorHandlers) {
      try {
        await onError(error);
      } catch (failure) {
        log.error({ err: failure, handlerError: error.message, pattern: error.pattern }, 'onError handler failed');
      }
    }
  }

  async function run(event: StreamEvent, delivery: EventDelivery): Promise<EventDispatchResult> {
    const started = performance.now();
    const idField = delivery.via === 'webhook' ? 'webhookId' : 'deliveryId';
    const log = logger.child({ [idField]: delivery.id, eventType: event.type });
    const context: EventContext = { delivery, log, signal: shutdown.signal };
    const matching = registrations.filter((registration) => registration.matches(event.type));
    const errors: EventHandlerError[] = [];
    await Promise.all(
      matching.map(async ({ pattern, handler }) => {
        try {
          await handler(event, context);
        } catch (cause) {
          errors.push(new EventHandlerError(pattern, event, delivery, cause));
        }
      }),
    );
    for (const error of errors) await report(error, log);
    const outcome: EventOutcome = matching.length === 0 ? 'unhandled' : errors.length > 0 ? 'failed' : 'handled';
    const seconds = Math.max(0, (Date.now() - delivery.receivedAt) / 1000);
    log.info({ via: delivery.via, apiKey: delivery.apiKey, attempt: delivery.attempt, handlers: matching.length, outcome, latencyMs: Math.round((performance.now() - started) * 100) / 100 }, 'event');
    metrics.event(isKnownEventType(event.type) ? event.type : 'other', delivery.via, outcome, seconds);
    return { handlers: matching.length, errors };
  }

  const registry: EventWebhooks = {
    on(patterns, handler) {
      const list: readonly string[] = typeof patterns === 'string' ? [patterns] : (patterns as readonly string[]);
      if (!Array.isArray(list) || list.length === 0) throw new TypeError('pending-hooks: on() needs an event pattern or a non-empty list of them');
      for (const pattern of list) register(pattern, handler);
      return registry;
    },
    onAny(handler) {
      register('*', handler);
      return registry;
    },
    onError(handler) {
      if (typeof handler !== 'function') throw new TypeError('pending-hooks: the onError handler must be a function');
      errorHandlers.push(handler);
      return registry;
    },
    get size() {
      return registrations.length;
    },
    dispatch(event, delivery = {}) {
      if (closed) return Promise.reject(new Error('pending-hooks: the event registry is closed'));
      if (typeof event !== 'object' || event === null || typeof (event as { type?: unknown }).type !== 'string') {
        return Promise.reject(new TypeError('pending-hooks: dispatch() needs an event: an object with a string "type"'));
      }
      const full: EventDelivery = {
        via: delivery.via ?? 'direct',
        id: delivery.id,
        attempt: delivery.attempt ?? 1,
        apiKey: delivery.apiKey,
        appId: delivery.appId,
        receivedAt: delivery.receivedAt ?? Date.now(),
      };
      const dispatched = run(event, full);
      const entry = running.add(undefined, dispatched, undefined);
      void dispatched.finally(() => running.remove(entry));
      return dispatched;
    },
    async close(graceMs = 10_000) {
      closed = true;
      const waitAtMost = async (ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
        await Promise.race([Promise.allSettled(running.values()), timeout]);
        clearTimeout(timer);
      };
      await waitAtMost(graceMs);
      if (running.size === 0) return;
      shutdown.abort(new Error('pending-hooks: the server is shutting down'));
      await waitAtMost(abortedWaitMs);
      if (running.size > 0) logger.error({ running: running.size }, 'event handlers still running after shutdown: abandoned');
    },
  };
  return registry;
}
