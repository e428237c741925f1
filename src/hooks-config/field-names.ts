import { hookFields, hookTypes, type HookType } from './hook-schemas.js';
import { joinPath, type HooksProblem } from './problem.js';

/**
 * Fields a hook carries that its type does not know. Stream ignores such a field, so a
 * misspelled required field (the seed's own example writes `sns_arn_topic` for
 * `sns_topic_arn`) silently leaves the hook without it: a misspelling is an error, named as such.
 */

/**
 * The field `name` most likely stands for among `known`: the same words in another order
 * (`sns_arn_topic` → `sns_topic_arn`), or at most two letters off (`webhok_url` → `webhook_url`).
 */
export function correctionFor(name: string, known: Iterable<string>): string | undefined {
  const words = name.toLowerCase().split(/[_.-]+/).filter(Boolean).sort().join('_');
  let best: { field: string; distance: number } | undefined;
  for (const field of known) {
    if (field === name) return undefined;
    if (field.split('_').sort().join('_') === words) return field;
    const distance = editDistance(name.toLowerCase(), field);
    if (distance <= Math.min(2, Math.floor(field.length / 4)) && (best === undefined || distance < best.distance)) best = { field, distance };
  }
  return best?.field;
}

/** Levenshtein distance (names are short). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

function ownerTypes(field: string): HookType[] {
  return hookTypes.filter((type) => hookFields[type].has(field));
}

/** Auth fields that the hook's `*_auth_type` does not use: Stream ignores them. */
function unusedAuthFields(hook: Record<string, unknown>, type: HookType): string[] {
  if (type !== 'sqs' && type !== 'sns') return [];
  const auth = hook[`${type}_auth_type`];
  const byAuth: Record<string, string[]> = { keys: [`${type}_key`, `${type}_secret`], role: [`${type}_role_arn`], resource: [] };
  const used = byAuth[auth as string];
  if (used === undefined) return [];
  return [`${type}_key`, `${type}_secret`, `${type}_role_arn`].filter((field) => !used.includes(field) && hook[field] !== undefined && hook[field] !== '');
}

/**
 * Problems with the field names of one hook of a known type: misspellings (errors), fields of
 * other hook types and unknown fields (warnings: Stream ignores them), fields the auth type or
 * callback mode does not use (warnings), and a `delete` marker outside an explicit-deletion update.
 */
export function fieldNameProblems(hook: Record<string, unknown>, type: HookType, base: string, options: { deleteMarkerAllowed?: boolean } = {}): HooksProblem[] {
  const known = hookFields[type];
  const problems: HooksProblem[] = [];
  for (const field of Object.keys(hook)) {
    if (known.has(field) || field === 'hook_type') continue;
    const path = joinPath(base, [field]);
    if (field === 'delete') {
      if (!options.deleteMarkerAllowed) {
        problems.push({ severity: 'error', code: 'delete_marker', path, message: 'belongs only in an update with explicit_event_hooks_deletion; to delete a hook leave it out of the list (hooks apply --allow-delete)' });
      }
      continue;
    }
    const correction = correctionFor(field, known);
    if (correction !== undefined) {
      const also = hook[correction] === undefined ? '' : `, which is also set: remove ${field}`;
      problems.push({ severity: 'error', code: 'misspelled_field', path, correction, message: `is a misspelling of ${correction}${also} (Stream would ignore ${field})` });
      continue;
    }
    const owners = ownerTypes(field);
    if (owners.length > 0) {
      problems.push({ severity: 'warning', code: 'field_of_other_type', path, message: `is a field of ${owners.join('/')} hooks, not of ${type} hooks: Stream ignores it here` });
    } else {
      problems.push({ severity: 'warning', code: 'unknown_field', path, message: `is not a field of ${type} hooks: Stream ignores it` });
    }
  }
  for (const field of unusedAuthFields(hook, type)) {
    problems.push({ severity: 'warning', code: 'unused_field', path: joinPath(base, [field]), message: `is not used with ${type}_auth_type "${hook[`${type}_auth_type`] as string}"` });
  }
  if (type === 'pending_message') {
    const callback = hook.callback;
    if (callback !== null && typeof callback === 'object' && !Array.isArray(callback)) {
      for (const field of Object.keys(callback)) {
        if (field !== 'mode') problems.push({ severity: 'warning', code: 'unknown_field', path: joinPath(base, ['callback', field]), message: 'is not a field of callback (only mode is): Stream ignores it' });
      }
      if ((callback as { mode?: unknown }).mode === 'CALLBACK_MODE_NONE' && typeof hook.webhook_url === 'string' && hook.webhook_url !== '') {
        problems.push({ severity: 'warning', code: 'unused_field', path: joinPath(base, ['webhook_url']), message: 'is not called with CALLBACK_MODE_NONE' });
      }
    }
  }
  return problems;
}

/** The hook with misspelled field names renamed (when the right name is not taken); what was renamed. */
export function renameMisspelledFields(hook: Record<string, unknown>, type: HookType): { hook: Record<string, unknown>; renamed: { from: string; to: string }[] } {
  const renamed: { from: string; to: string }[] = [];
  const fixed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(hook)) {
    const correction = hookFields[type].has(field) || field === 'hook_type' || field === 'delete' ? undefined : correctionFor(field, hookFields[type]);
    if (correction !== undefined && hook[correction] === undefined) {
      fixed[correction] = value;
      renamed.push({ from: field, to: correction });
    } else {
      fixed[field] = value;
    }
  }
  return { hook: fixed, renamed };
}
