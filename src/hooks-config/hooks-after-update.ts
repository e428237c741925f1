import { duplicateIdProblems, pendingHookCountProblems, validateEventHook } from './validate-event-hooks.js';
import { joinPath, type HooksProblem } from './problem.js';

/** The `event_hooks` part of a `PATCH /app` body. */
export interface EventHooksUpdate {
  event_hooks: unknown;
  /** Upsert by id and delete only the entries marked `delete: true`, instead of replacing the list. */
  explicit_event_hooks_deletion?: boolean;
}

/** An `event_hooks` entry as stored: any fields, an `id` (empty until Stream generates one). */
export type StoredEventHook = Record<string, unknown> & { id?: string };

/** The outcome of {@link hooksAfterUpdate}: the list Stream would store, or why it refuses. */
export type HooksAfterUpdate = { ok: true; hooks: StoredEventHook[]; problems: HooksProblem[] } | { ok: false; problems: HooksProblem[] };

/**
 * What Stream stores after a `PATCH /app` with `event_hooks` (REFERENCE section 3), or the
 * problems it refuses the update for. Without `explicit_event_hooks_deletion` the list replaces
 * the current one: a hook left out is deleted. With it, entries with `delete: true` (and an id
 * of an existing hook) are removed, every other entry is upserted by id (no id: added), and hooks
 * not mentioned stay. The result is checked as a whole (at most two pending_message hooks).
 * New hooks keep an empty id: generating ids and timestamps is the store's business.
 */
export function hooksAfterUpdate(current: readonly StoredEventHook[], update: EventHooksUpdate): HooksAfterUpdate {
  const entries = update.event_hooks;
  if (!Array.isArray(entries)) {
    return { ok: false, problems: [{ severity: 'error', code: 'not_a_list', path: 'event_hooks', message: 'must be a list of hooks' }] };
  }
  const explicit = update.explicit_event_hooks_deletion === true;
  const problems: HooksProblem[] = [];
  let next: StoredEventHook[];
  if (!explicit) {
    entries.forEach((entry, index) => problems.push(...validateEventHook(entry, joinPath('event_hooks', [index]))));
    problems.push(...duplicateIdProblems(entries));
    next = entries as StoredEventHook[];
  } else {
    next = [...current];
    problems.push(...duplicateIdProblems(entries));
    entries.forEach((entry, index) => {
      const base = joinPath('event_hooks', [index]);
      const marked = entry !== null && typeof entry === 'object' && (entry as { delete?: unknown }).delete === true;
      if (!marked) {
        problems.push(...validateEventHook(entry, base, { deleteMarkerAllowed: true }));
        if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return;
        const { delete: _marker, ...hook } = entry as StoredEventHook;
        const at = typeof hook.id === 'string' && hook.id !== '' ? next.findIndex((existing) => existing.id === hook.id) : -1;
        if (at >= 0) next[at] = hook;
        else next.push(hook);
        return;
      }
      const id = (entry as { id?: unknown }).id;
      const at = typeof id === 'string' && id !== '' ? next.findIndex((existing) => existing.id === id) : -1;
      if (at >= 0) next.splice(at, 1);
      else {
        const message = typeof id === 'string' && id !== '' ? `cannot delete hook ${JSON.stringify(id)}: the app has no hook with this id` : 'a hook to delete needs the id of an existing hook';
        problems.push({ severity: 'error', code: typeof id === 'string' && id !== '' ? 'invalid_value' : 'missing_field', path: joinPath(base, ['id']), message });
      }
    });
  }
  // Paths of these refer to the resulting list, which is the request's own list without explicit deletion.
  problems.push(...pendingHookCountProblems(next));
  if (problems.some((problem) => problem.severity === 'error')) return { ok: false, problems };
  return { ok: true, hooks: next, problems };
}
