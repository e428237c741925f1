import type { NeutralResponse } from '../core/neutral.js';
import { decisionActions, type DecisionAction, type Outcome } from '../decision/decision.js';

/** The reasons the dispatcher itself answers with (fallbacks), and none. */
const dispatcherReasons = ['', 'timeout', 'handler_error', 'shutdown', 'no_handler'] as const;

/**
 * Handler reasons are usually a handful of constants ("spam", "blocklist"): the first ones met
 * are kept per action and `timed_out`, up to this many, so a reason that changes per message
 * costs one encode and never grows memory.
 */
const rememberedReasonsCap = 64;

/**
 * The PassOn answers of one encoding, by action, `timed_out` and reason: the dispatcher's own
 * outcomes encoded once at load, handler reasons remembered up to a cap. `frozen` answers are
 * shared: copy one before changing it. Every transport's encoder sits on this one table.
 */
export function createPassOnAnswers(
  encode: (outcome: Outcome) => NeutralResponse,
): (outcome: Outcome) => NeutralResponse {
  const frozen = (outcome: Outcome): NeutralResponse => {
    const response = encode(outcome);
    Object.freeze(response.headers);
    return Object.freeze(response);
  };
  // table[action][timedOut ? 1 : 0].get(reason)
  const table = {} as Record<DecisionAction, [Map<string, NeutralResponse>, Map<string, NeutralResponse>]>;
  for (const action of decisionActions) {
    const byTimedOut: [Map<string, NeutralResponse>, Map<string, NeutralResponse>] = [new Map(), new Map()];
    for (const timedOut of [false, true]) {
      for (const reason of dispatcherReasons) byTimedOut[timedOut ? 1 : 0].set(reason, frozen({ action, reason, timedOut }));
    }
    table[action] = byTimedOut;
  }
  const rememberedLimit = dispatcherReasons.length + rememberedReasonsCap;

  return (outcome) => {
    const known = table[outcome.action][outcome.timedOut ? 1 : 0];
    const reason = outcome.reason ?? '';
    const cached = known.get(reason);
    if (cached !== undefined) return cached;
    if (known.size >= rememberedLimit) return encode(outcome);
    const response = frozen(outcome);
    known.set(reason, response);
    return response;
  };
}
