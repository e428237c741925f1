import type { PendingMessageEvent } from '../event/pending-message-event.js';
import type { Outcome } from './decision.js';

/** What is remembered of a callback, keyed by (api key, `X-Webhook-Id`). */
export interface DedupeRecord {
  readonly outcome: Outcome;
  /** False while the decision still has to reach Stream's API (a retry re-applies it). */
  readonly applied: boolean;
}

/**
 * The answer to `claim`: `claimed` — this process decides (with `record`, a decision known but
 * not applied yet, to re-apply instead of running the handler); `known` — already decided and
 * applied; `busy` — another process holds the claim and is deciding (claim again later).
 */
export type ClaimResult =
  | { readonly status: 'claimed'; readonly record?: DedupeRecord }
  | { readonly status: 'known'; readonly record: DedupeRecord }
  | { readonly status: 'busy' };

/** A callback answered ack-first, recorded with its claim so another process can finish it. */
export interface DurableCallback {
  readonly event: PendingMessageEvent;
  /** When the request arrived, ms since the epoch: the budget runs from here on every process. */
  readonly arrivedAt: number;
  /** `arrivedAt + timeoutMs`: after it only a failure can be recorded. */
  readonly deadline: number;
}

/** An ack-first callback whose process died before its decision was applied, now owned by this process. */
export interface RecoveredCallback extends DurableCallback {
  readonly key: string;
  /** The decision, when the dead process had reached one (re-applied as is, never decided again). */
  readonly outcome: Outcome | undefined;
}

export interface ClaimOptions {
  /** How long the claim holds if its owner never settles it (the budget plus a margin). */
  readonly leaseMs: number;
  /** Ack-first with a durable store: recorded together with the claim, before the answer goes out. */
  readonly durable?: DurableCallback;
}

/**
 * Remembers decisions so Stream's retries never run a handler twice. `get` and `set` may answer
 * synchronously (in-memory) or with a promise (shared stores such as Redis).
 * Records must be kept at least `ttlMs` (>= 60 s: Stream retries within 15 s).
 *
 * A store shared by several processes also implements `claim` (then the dispatcher claims each
 * callback before deciding it, so one process in all runs the handler and calls Stream's API),
 * and may implement durable ack-first (`markDecided`, `recover`).
 */
export interface DedupeStore {
  get(key: string): DedupeRecord | undefined | Promise<DedupeRecord | undefined>;
  /** Stores the record; a store shared with a claim also releases the claim (and settles a durable callback). */
  set(key: string, record: DedupeRecord): void | Promise<void>;
  close?(): void | Promise<void>;
  /**
   * Atomically claims the key for this process, or tells who has it. Must never reject: a store
   * that cannot reach its backend answers from local state (`claimed` unless known locally).
   */
  claim?(key: string, options: ClaimOptions): Promise<ClaimResult>;
  /** Notes a durable callback's decision before it is applied, so a process that takes it over re-applies it. */
  markDecided?(key: string, outcome: Outcome): void;
  /**
   * Starts handing over durable callbacks whose process died: `run` is called once per callback
   * taken over, and must apply a decision (and `set` its record). Returns the function that stops it.
   */
  recover?(run: (callback: RecoveredCallback) => Promise<void>): () => void;
  /** Gives the store the server's logger when it was created without one. */
  useLogger?(logger: import('pino').Logger): void;
}
