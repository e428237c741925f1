import { renameMisspelledFields } from './field-names.js';
import { isHookType } from './hook-schemas.js';
import { joinPath } from './problem.js';

/**
 * Where a hooks file keeps its list: a bare `event_hooks` array, an object with an
 * `event_hooks` key (app settings as the seed shows them), or `GET /app`'s answer (`{"app": {…}}`).
 */
export type HooksDocumentShape = 'list' | 'event_hooks' | 'app';

/** The `event_hooks` of a parsed hooks file, or why there is none. */
export type HooksDocument = { ok: true; shape: HooksDocumentShape; hooks: unknown } | { ok: false; reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Finds the `event_hooks` list in a parsed hooks file. */
export function readHooksDocument(value: unknown): HooksDocument {
  if (Array.isArray(value)) return { ok: true, shape: 'list', hooks: value };
  if (isObject(value) && 'event_hooks' in value) return { ok: true, shape: 'event_hooks', hooks: value.event_hooks };
  if (isObject(value) && isObject(value.app) && 'event_hooks' in value.app) return { ok: true, shape: 'app', hooks: value.app.event_hooks };
  return { ok: false, reason: 'expected an event_hooks list, an object with an "event_hooks" key, or the answer of GET /app ({"app": {"event_hooks": [...]}})' };
}

/** The same document with a new list, in the same place. */
export function replaceHooksInDocument(document: unknown, shape: HooksDocumentShape, hooks: unknown[]): unknown {
  if (shape === 'list') return hooks;
  const object = document as Record<string, unknown>;
  if (shape === 'event_hooks') return { ...object, event_hooks: hooks };
  return { ...object, app: { ...(object.app as Record<string, unknown>), event_hooks: hooks } };
}

/** One field renamed by {@link fixMisspelledFields}. */
export interface FieldRename {
  /** The hook's path, e.g. `event_hooks[2]`. */
  path: string;
  from: string;
  to: string;
}

/**
 * The hooks with misspelled field names renamed to the fields meant (the seed's `sns_arn_topic`
 * becomes `sns_topic_arn`), unless that field is already set. Other entries are left as they are.
 */
export function fixMisspelledFields(hooks: readonly unknown[], base = 'event_hooks'): { hooks: unknown[]; renamed: FieldRename[] } {
  const renamed: FieldRename[] = [];
  const fixed = hooks.map((hook, index) => {
    if (!isObject(hook) || !isHookType(hook.hook_type)) return hook;
    const result = renameMisspelledFields(hook, hook.hook_type);
    for (const { from, to } of result.renamed) renamed.push({ path: joinPath(base, [index]), from, to });
    return result.hook;
  });
  return { hooks: fixed, renamed };
}
