import type { Outcome } from './decision.js';

/** What is remembered of a callback, keyed by (api key, `X-Webhook-Id`). */
export interface DedupeRecord {
  readonly outcome: Outcome;
  /** False while the decision still has to reach Stream's API (a retry re-applies it). */
  readonly applied: boolean;
}

/**
 * Remembers decisions so Stream's retries never run a handler twice. `get` and `set` may answer
 * synchronously (in-memory) or with a promise (shared stores such as Redis).
 * Records must be kept at least `ttlMs` (>= 60 s: Stream retries within 15 s).
 */
export interface DedupeStore {
  get(key: string): DedupeRecord | undefined | Promise<DedupeRecord | undefined>;
  set(key: string, record: DedupeRecord): void | Promise<void>;
  close?(): void | Promise<void>;
}
