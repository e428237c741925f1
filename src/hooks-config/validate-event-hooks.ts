import { fieldNameProblems } from './field-names.js';
import { hookSchemas, hookTypes, isHookType, type EventHook, type PendingMessageHook } from './hook-schemas.js';
import { joinPath, problemFromIssue, type HooksProblem } from './problem.js';

/** The outcome of {@link validateEventHooks}. */
export interface EventHooksValidation {
  /** True when there is no error (warnings and notes allowed). */
  valid: boolean;
  /** Every finding at once, in list order: errors, warnings and notes. */
  problems: HooksProblem[];
  /** The hooks, when valid. */
  hooks: EventHook[] | undefined;
}

/** Stream keeps at most this many pending_message hooks per app (REFERENCE section 1). */
export const maxPendingMessageHooks = 2;

/** How Stream event types are named: `message.new`, `channel.created`, `notification.message_new`. */
const eventTypeShape = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

/**
 * One hook on its own: its schema, field names, and the legal-but-risky warnings. `base` is
 * its path (`event_hooks[2]`).
 */
export function validateEventHook(value: unknown, base: string, options: { deleteMarkerAllowed?: boolean } = {}): HooksProblem[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ severity: 'error', code: 'invalid_value', path: base, message: 'must be an object (one hook)' }];
  }
  const hook = value as Record<string, unknown>;
  const type = hook.hook_type;
  if (!isHookType(type)) {
    const message =
      type === undefined || type === null || type === ''
        ? `hook_type is required: one of ${hookTypes.join(', ')}`
        : `hook_type must be one of ${hookTypes.join(', ')} (got ${JSON.stringify(type)})`;
    return [{ severity: 'error', code: type === undefined || type === null || type === '' ? 'missing_field' : 'unknown_hook_type', path: joinPath(base, ['hook_type']), message }];
  }
  const problems: HooksProblem[] = [];
  const misspellings = fieldNameProblems(hook, type, base, options);
  const corrected = new Set(misspellings.flatMap((problem) => (problem.code === 'misspelled_field' && problem.correction !== undefined ? [joinPath(base, [problem.correction])] : [])));
  const parsed = hookSchemas[type].safeParse(hook, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const problem = problemFromIssue(issue, base, type);
      // "sns_topic_arn is required" says again what "sns_arn_topic is a misspelling" said.
      if (problem.code === 'missing_field' && corrected.has(problem.path)) continue;
      problems.push(problem);
    }
  }
  problems.push(...misspellings);
  problems.push(...riskWarnings(hook, type, base));
  return problems;
}

function riskWarnings(hook: Record<string, unknown>, type: string, base: string): HooksProblem[] {
  const warnings: HooksProblem[] = [];
  if (hook.enabled === false) {
    warnings.push({ severity: 'warning', code: 'disabled', path: joinPath(base, ['enabled']), message: 'the hook is disabled: Stream sends it nothing until it is enabled' });
  }
  const eventTypes = hook.event_types;
  // pending_message hooks are called for pending messages, not for events: event_types says nothing there.
  if (type !== 'pending_message' && (eventTypes === undefined || eventTypes === null || (Array.isArray(eventTypes) && eventTypes.length === 0))) {
    const how = eventTypes === undefined ? 'no event_types' : `event_types ${eventTypes === null ? 'null' : 'empty'}`;
    warnings.push({ severity: 'warning', code: 'all_events', path: joinPath(base, ['event_types']), message: `${how}: the hook subscribes to every current and future event type` });
  }
  if (Array.isArray(eventTypes)) {
    const seen = new Map<string, number>();
    eventTypes.forEach((name, index) => {
      if (typeof name !== 'string' || name === '') return;
      const path = joinPath(base, ['event_types', index]);
      const first = seen.get(name);
      if (first !== undefined) warnings.push({ severity: 'warning', code: 'duplicate_event_type', path, message: `${JSON.stringify(name)} is listed twice (also at event_types[${first}])` });
      else seen.set(name, index);
      if (!eventTypeShape.test(name)) {
        warnings.push({ severity: 'warning', code: 'unusual_event_type', path, message: `${JSON.stringify(name)} does not look like a Stream event type (scope.name, e.g. message.new): no event may match it` });
      }
    });
  }
  return warnings;
}

/** Ids are unique within a list (an empty id asks Stream to generate one). */
export function duplicateIdProblems(hooks: readonly unknown[], base = 'event_hooks'): HooksProblem[] {
  const problems: HooksProblem[] = [];
  const ids = new Map<string, number>();
  hooks.forEach((hook, index) => {
    const id = (hook as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' || id === '') return;
    const first = ids.get(id);
    if (first === undefined) ids.set(id, index);
    else problems.push({ severity: 'error', code: 'duplicate_id', path: joinPath(base, [index, 'id']), message: `id ${JSON.stringify(id)} is repeated (also at ${joinPath(base, [first])}): each hook needs its own` });
  });
  return problems;
}

/** At most two pending_message hooks; with two, the longest `timeout_ms` is the one Stream uses (a note). */
export function pendingHookCountProblems(hooks: readonly unknown[], base = 'event_hooks'): HooksProblem[] {
  const pending = hooks.flatMap((hook, index) => ((hook as { hook_type?: unknown } | null)?.hook_type === 'pending_message' ? [{ hook: hook as PendingMessageHook, index }] : []));
  if (pending.length > maxPendingMessageHooks) {
    const at = pending.map(({ index }) => joinPath(base, [index])).join(', ');
    return [{ severity: 'error', code: 'too_many_pending_message_hooks', path: base, message: `an app can have at most ${maxPendingMessageHooks} pending_message hooks (found ${pending.length}: ${at})` }];
  }
  const timed = pending.filter(({ hook }) => typeof hook.timeout_ms === 'number' && hook.timeout_ms > 0);
  if (pending.length !== 2 || timed.length !== 2) return [];
  const [a, b] = timed as [(typeof timed)[number], (typeof timed)[number]];
  const longest = b.hook.timeout_ms > a.hook.timeout_ms ? b : a;
  const other = longest === a ? b : a;
  const message =
    a.hook.timeout_ms === b.hook.timeout_ms
      ? `both pending_message hooks have timeout_ms ${a.hook.timeout_ms}: messages stay pending up to ${a.hook.timeout_ms} ms`
      : `with two pending_message hooks Stream uses the longest timeout_ms: ${longest.hook.timeout_ms} ms (${joinPath(base, [longest.index])}), not ${other.hook.timeout_ms} ms (${joinPath(base, [other.index])})`;
  return [{ severity: 'note', code: 'longest_timeout_wins', path: joinPath(base, [longest.index, 'timeout_ms']), message }];
}

/**
 * Validates a desired `event_hooks` list as Stream's "Multi-Event Hooks" tables and rules say
 * (REFERENCE sections 1 and 3): every hook against its type's schema, misspelled and unknown
 * fields, ids, at most two pending_message hooks. Every problem is reported at once, each with
 * its path and a plain-language reason; warnings (a hook with no `event_types`, a disabled hook)
 * and notes (which `timeout_ms` wins) do not make the list invalid.
 *
 * @example
 * const { valid, problems } = validateEventHooks(JSON.parse(text).event_hooks);
 * for (const p of problems) console.log(`${p.severity} ${p.path}: ${p.message}`);
 */
export function validateEventHooks(value: unknown, base = 'event_hooks'): EventHooksValidation {
  if (!Array.isArray(value)) {
    const problems: HooksProblem[] = [{ severity: 'error', code: 'not_a_list', path: base, message: `must be a list of hooks (got ${value === null ? 'null' : typeof value})` }];
    return { valid: false, problems, hooks: undefined };
  }
  const problems = value.flatMap((hook, index) => validateEventHook(hook, joinPath(base, [index])));
  problems.push(...duplicateIdProblems(value, base), ...pendingHookCountProblems(value, base));
  const valid = !problems.some((problem) => problem.severity === 'error');
  return { valid, problems, hooks: valid ? (value as EventHook[]) : undefined };
}
