import type { AppSettingsApi } from '../stream-api/app-settings-client.js';
import type { EventHooksUpdate, StoredEventHook } from './hooks-after-update.js';
import { eventHooksUpdateFor, planEventHooks, planHasChanges, type EventHooksPlan } from './plan-event-hooks.js';
import { validateEventHooks, type EventHooksValidation } from './validate-event-hooks.js';

/** Options of {@link applyEventHooks}. */
export interface ApplyEventHooksOptions {
  /** Delete the hooks Stream has that the desired list leaves out. Default false: refuse instead. */
  allowDelete?: boolean;
  /**
   * Send only the changes with `explicit_event_hooks_deletion: true` (deletions as `delete: true`)
   * instead of the whole list; hooks added at Stream meanwhile by someone else then survive.
   */
  explicitDeletion?: boolean;
  signal?: AbortSignal;
}

/**
 * What {@link applyEventHooks} did. `invalid`: the desired list has errors, nothing was read or
 * written. `refused`: the update would delete hooks and `allowDelete` was not given; nothing was
 * written. `unchanged`: Stream already has the desired hooks. `applied`: written; `hooks` is what
 * `GET /app` answered afterwards (with the ids Stream generated).
 */
export type ApplyEventHooksResult =
  | { status: 'invalid'; validation: EventHooksValidation }
  | { status: 'refused'; validation: EventHooksValidation; plan: EventHooksPlan }
  | { status: 'unchanged'; validation: EventHooksValidation; plan: EventHooksPlan }
  | { status: 'applied'; validation: EventHooksValidation; plan: EventHooksPlan; update: EventHooksUpdate; hooks: StoredEventHook[] };

/**
 * Reads the current `event_hooks` (and plans from them) without writing: what `hooks diff` shows.
 * Undefined plan when the desired list is invalid.
 */
export async function diffEventHooks(api: AppSettingsApi, desired: unknown, signal?: AbortSignal): Promise<{ validation: EventHooksValidation; plan: EventHooksPlan | undefined }> {
  const validation = validateEventHooks(desired);
  if (validation.hooks === undefined) return { validation, plan: undefined };
  const current = await api.getEventHooks(signal);
  return { validation, plan: planEventHooks(current, validation.hooks as StoredEventHook[]) };
}

/**
 * Makes the app's `event_hooks` the desired list, safely: validates it, reads the current hooks
 * (`GET /app`), plans, refuses to delete hooks unless `allowDelete`, then writes the update
 * (`PATCH /app`) and reads the result back. Stream's update replaces the whole list, so a hook
 * left out of the file would otherwise be deleted silently. Stream has no conditional update: a
 * change made by someone else between the read and the write is overwritten (with
 * `explicitDeletion`, only for the hooks this update names).
 *
 * @example
 * const api = createAppSettingsClient({ apiKey, secret });
 * const result = await applyEventHooks(api, desiredHooks, { allowDelete: false });
 * if (result.status === 'refused') console.log('would delete', result.plan.deleted.map((d) => d.id));
 */
export async function applyEventHooks(api: AppSettingsApi, desired: unknown, options: ApplyEventHooksOptions = {}): Promise<ApplyEventHooksResult> {
  const { validation, plan } = await diffEventHooks(api, desired, options.signal);
  if (plan === undefined) return { status: 'invalid', validation };
  if (plan.deleted.length > 0 && options.allowDelete !== true) return { status: 'refused', validation, plan };
  if (!planHasChanges(plan)) return { status: 'unchanged', validation, plan };
  const update = eventHooksUpdateFor(plan, { explicitDeletion: options.explicitDeletion === true });
  await api.updateAppSettings({ ...update }, options.signal);
  const hooks = await api.getEventHooks(options.signal);
  return { status: 'applied', validation, plan, update, hooks };
}
