import { readOnlyHookFields, secretHookFields } from './hook-schemas.js';
import type { EventHooksUpdate, StoredEventHook } from './hooks-after-update.js';

/** One field that differs between the current and the desired hook. */
export interface FieldChange {
  field: string;
  /** Undefined: not set. */
  before: unknown;
  after: unknown;
  /** A credential (`sqs_secret`…): show that it changed, never its value. */
  secret: boolean;
}

/** A hook of the desired list that Stream does not have yet. */
export interface PlannedAddition {
  /** Position in the desired list. */
  index: number;
  hook: StoredEventHook;
}

/** A hook present on both sides (same id) whose settings differ. */
export interface PlannedChange {
  id: string;
  index: number;
  before: StoredEventHook;
  after: StoredEventHook;
  fields: FieldChange[];
}

/** A hook Stream has that the desired list leaves out: an update replacing the list deletes it. */
export interface PlannedDeletion {
  id: string;
  hook: StoredEventHook;
}

/** A hook present on both sides with the same settings. */
export interface PlannedKeep {
  id: string;
  index: number;
  hook: StoredEventHook;
  /** `content`: the desired hook has no id, and an existing hook has exactly its settings. */
  matchedBy: 'id' | 'content';
}

/** What it takes to go from the current `event_hooks` to the desired ones. */
export interface EventHooksPlan {
  added: PlannedAddition[];
  changed: PlannedChange[];
  deleted: PlannedDeletion[];
  unchanged: PlannedKeep[];
  /** The desired list as a full replacement: ids of hooks matched by content filled in, read-only fields left out. */
  desired: StoredEventHook[];
}

/** Fields never compared: identity and what Stream sets itself. */
const notSettings = new Set(['id', 'delete', ...readOnlyHookFields]);

function withoutReadOnly(hook: StoredEventHook): StoredEventHook {
  return Object.fromEntries(Object.entries(hook).filter(([field]) => !readOnlyHookFields.has(field) && field !== 'delete')) as StoredEventHook;
}

/** A value in a form where equal settings compare equal: key order, event_types order, and absent = null = [] for event_types. */
function canonical(field: string, value: unknown): string {
  if (field === 'event_types') {
    const list = Array.isArray(value) ? [...new Set(value.map(String))].sort() : [];
    return JSON.stringify(list);
  }
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
}

/** The settings that differ between two hooks (not ids, not Stream's timestamps). */
export function changedFields(before: StoredEventHook, after: StoredEventHook): FieldChange[] {
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((field) => !notSettings.has(field));
  return fields
    .filter((field) => canonical(field, before[field]) !== canonical(field, after[field]))
    .map((field) => ({ field, before: before[field], after: after[field], secret: secretHookFields.has(field) }));
}

function idOf(hook: StoredEventHook): string | undefined {
  return typeof hook.id === 'string' && hook.id !== '' ? hook.id : undefined;
}

/**
 * Compares the current hooks (as `GET /app` returns them) with the desired ones. Hooks are
 * matched by id; a desired hook without an id matches an existing hook with exactly its settings
 * (so applying the same file twice adds nothing), otherwise it is added. Every current hook the
 * desired list does not match is a deletion — which is what Stream does when an update leaves a
 * hook out.
 *
 * @example
 * const plan = planEventHooks(currentHooks, desiredHooks);
 * if (plan.deleted.length > 0) console.log('would delete', plan.deleted.map((d) => d.id));
 */
export function planEventHooks(current: readonly StoredEventHook[], desired: readonly StoredEventHook[]): EventHooksPlan {
  const byId = new Map<string, StoredEventHook>();
  for (const hook of current) {
    const id = idOf(hook);
    if (id !== undefined) byId.set(id, hook);
  }
  const matched = new Set<StoredEventHook>();
  for (const hook of desired) {
    const existing = idOf(hook) === undefined ? undefined : byId.get(idOf(hook)!);
    if (existing !== undefined) matched.add(existing);
  }
  const plan: EventHooksPlan = { added: [], changed: [], deleted: [], unchanged: [], desired: [] };
  desired.forEach((hook, index) => {
    const id = idOf(hook);
    if (id !== undefined) {
      const existing = byId.get(id);
      if (existing === undefined) plan.added.push({ index, hook });
      else {
        const fields = changedFields(existing, hook);
        if (fields.length === 0) plan.unchanged.push({ id, index, hook: existing, matchedBy: 'id' });
        else plan.changed.push({ id, index, before: existing, after: hook, fields });
      }
      plan.desired.push(withoutReadOnly(hook));
      return;
    }
    const twin = current.find((existing) => !matched.has(existing) && idOf(existing) !== undefined && changedFields(existing, hook).length === 0);
    if (twin === undefined) {
      plan.added.push({ index, hook });
      plan.desired.push(withoutReadOnly(hook));
      return;
    }
    matched.add(twin);
    plan.unchanged.push({ id: idOf(twin)!, index, hook: twin, matchedBy: 'content' });
    plan.desired.push({ ...withoutReadOnly(hook), id: idOf(twin)! });
  });
  for (const hook of current) {
    if (!matched.has(hook)) plan.deleted.push({ id: idOf(hook) ?? '', hook });
  }
  return plan;
}

/** True when the plan changes anything at Stream. */
export function planHasChanges(plan: EventHooksPlan): boolean {
  return plan.added.length + plan.changed.length + plan.deleted.length > 0;
}

/**
 * The `PATCH /app` body that carries out a plan. By default the whole desired list (Stream
 * replaces the list: whatever it leaves out is deleted). With `explicitDeletion`, only the changes:
 * changed and added hooks are upserted, deletions are sent with `delete: true`, and hooks not
 * mentioned stay — including any added by someone else since the plan was made.
 */
export function eventHooksUpdateFor(plan: EventHooksPlan, options: { explicitDeletion?: boolean } = {}): EventHooksUpdate {
  if (!options.explicitDeletion) return { event_hooks: plan.desired };
  return {
    explicit_event_hooks_deletion: true,
    event_hooks: [
      ...plan.changed.map(({ after }) => withoutReadOnly(after)),
      ...plan.added.map(({ hook }) => withoutReadOnly(hook)),
      ...plan.deleted.map(({ hook }) => ({ ...withoutReadOnly(hook), delete: true })),
    ],
  };
}
