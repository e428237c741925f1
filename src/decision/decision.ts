/** What happens to a pending message. */
export type DecisionAction = 'commit' | 'delete' | 'keep_pending';

/** A handler's verdict. `reason` is logged and answered to Stream. */
export interface Decision {
  readonly action: DecisionAction;
  readonly reason?: string;
}

/** The decision as answered: with whether it came from the timeout fallback. */
export interface Outcome extends Decision {
  readonly timedOut: boolean;
}

/**
 * What became of a PassOn callback's decision, for a transport to answer: decided (answer it),
 * accepted (ack-first: applied through the API later), or not applied through the API in time.
 */
export type PassOnResult =
  | { readonly kind: 'decided'; readonly outcome: Outcome }
  | { readonly kind: 'accepted' }
  | { readonly kind: 'not_applied'; readonly outcome: Outcome };

const commitDecision: Decision = Object.freeze({ action: 'commit' });

/** Builders for decisions, so handlers read as sentences: `return decide.delete('spam')`. */
export const decide = {
  /** Publish the message. */
  commit(reason?: string): Decision {
    return reason === undefined ? commitDecision : { action: 'commit', reason };
  },
  /** Hard-delete the message. */
  delete(reason?: string): Decision {
    return reason === undefined ? { action: 'delete' } : { action: 'delete', reason };
  },
  /** Leave the message pending (for a human, or until Stream's `timeout_ms` deletes it). */
  keepPending(reason?: string): Decision {
    return reason === undefined ? { action: 'keep_pending' } : { action: 'keep_pending', reason };
  },
} as const;

export const decisionActions: readonly DecisionAction[] = ['commit', 'delete', 'keep_pending'];

export function isDecisionAction(value: unknown): value is DecisionAction {
  return value === 'commit' || value === 'delete' || value === 'keep_pending';
}
