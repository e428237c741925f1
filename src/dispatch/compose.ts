import { decide, type Decision } from '../decision/decision.js';
import type { Check, HandlerContext, PassOnHandler } from './handler.js';

/**
 * Runs checks one after another under the one budget (their shared `context.signal`):
 * the first `delete` wins and stops the rest; otherwise a `keep_pending` from any check wins over
 * commit; when no check objects the message is committed. Put cheap checks (a blocklist) first.
 */
export function compose(...checks: Check[]): PassOnHandler {
  return async (event, context) => {
    let held: Decision | undefined;
    for (const check of checks) {
      if (context.signal.aborted) break;
      const verdict = await check(event, context);
      if (!verdict) continue;
      if (verdict.action === 'delete') return verdict;
      if (verdict.action === 'keep_pending') held ??= verdict;
    }
    return held ?? decide.commit();
  };
}

/**
 * Runs checks at the same time under the one budget. The first `delete` wins at once and aborts
 * the others (each check gets a signal that also fires then); otherwise as `compose`.
 * A check that throws makes the whole decision throw (the fallback applies).
 */
export function composeParallel(...checks: Check[]): PassOnHandler {
  return (event, context) => {
    const siblings = new AbortController();
    const signal = AbortSignal.any([context.signal, siblings.signal]);
    const shared: HandlerContext = {
      signal,
      deadline: context.deadline,
      remainingMs: context.remainingMs,
      get log() {
        return context.log;
      },
    };
    return new Promise<Decision>((resolve, reject) => {
      let pending = checks.length;
      let held: Decision | undefined;
      if (pending === 0) return resolve(decide.commit());
      for (const check of checks) {
        Promise.resolve()
          .then(() => check(event, shared))
          .then(
            (verdict) => {
              if (verdict?.action === 'delete') {
                siblings.abort(new Error('another check deleted the message'));
                resolve(verdict);
              } else if (verdict?.action === 'keep_pending') held ??= verdict;
              if (--pending === 0) resolve(held ?? decide.commit());
            },
            (error: unknown) => {
              siblings.abort(error);
              reject(error);
            },
          );
      }
    });
  };
}
