import type { StoredEventHook } from './hooks-after-update.js';
import type { EventHooksPlan, FieldChange } from './plan-event-hooks.js';
import { countProblems, type HooksProblem } from './problem.js';

/** Problems one per line: `error    event_hooks[2].sns_arn_topic: is a misspelling of sns_topic_arn …`. */
export function formatProblems(problems: readonly HooksProblem[]): string[] {
  return problems.map((problem) => `${problem.severity.padEnd(8)} ${problem.path}: ${problem.message}`);
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** `hooks.json: invalid (2 errors, 1 warning, 0 notes)`. */
export function formatValidationSummary(source: string, problems: readonly HooksProblem[]): string {
  const counts = countProblems(problems);
  const verdict = counts.error > 0 ? 'invalid' : 'valid';
  return `${source}: ${verdict} (${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${plural(counts.note, 'note')})`;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeValue(value: unknown): string {
  return value === undefined ? '(unset)' : clip(JSON.stringify(value));
}

function describeChange(change: FieldChange): string {
  if (change.secret) return `${change.field} (changed; not shown)`;
  return `${change.field} ${describeValue(change.before)} -> ${describeValue(change.after)}`;
}

/** `sqs http://url1-sqs.com`: the type and where its events go. */
function describeHook(hook: StoredEventHook): string {
  const target = hook.webhook_url ?? hook.sqs_queue_url ?? hook.sns_topic_arn ?? (hook as { callback?: { mode?: unknown } }).callback?.mode;
  const type = typeof hook.hook_type === 'string' ? hook.hook_type : '(no hook_type)';
  return typeof target === 'string' && target !== '' ? `${type} ${clip(target)}` : type;
}

/** A plan one hook per line (`+` add, `~` change with its fields, `-` delete, `=` keep) and a summary line. */
export function formatPlan(plan: EventHooksPlan): string[] {
  const lines: string[] = [];
  for (const { index, hook } of plan.added) {
    const id = typeof hook.id === 'string' && hook.id !== '' ? `id ${hook.id}` : 'Stream generates the id';
    lines.push(`+ add     event_hooks[${index}] ${describeHook(hook)} (${id})`);
  }
  for (const { id, after, fields } of plan.changed) lines.push(`~ change  ${id} ${describeHook(after)}: ${fields.map(describeChange).join('; ')}`);
  for (const { id, hook } of plan.deleted) lines.push(`- delete  ${id} ${describeHook(hook)}`);
  for (const { id, hook, matchedBy } of plan.unchanged) lines.push(`= keep    ${id} ${describeHook(hook)}${matchedBy === 'content' ? ' (matched by its settings: the file gives no id)' : ''}`);
  lines.push(`${plan.added.length} to add, ${plan.changed.length} to change, ${plan.deleted.length} to delete, ${plan.unchanged.length} unchanged`);
  return lines;
}

/** A plan as plain data for `--json`: ids, types and changed fields, credentials left out. */
export function planSummary(plan: EventHooksPlan) {
  const typeOf = (hook: StoredEventHook) => hook.hook_type;
  return {
    added: plan.added.map(({ index, hook }) => ({ index, hook_type: typeOf(hook), ...(typeof hook.id === 'string' && hook.id !== '' ? { id: hook.id } : {}) })),
    changed: plan.changed.map(({ id, index, after, fields }) => ({
      id,
      index,
      hook_type: typeOf(after),
      fields: fields.map((change) => (change.secret ? { field: change.field, secret: true } : { field: change.field, before: change.before ?? null, after: change.after ?? null })),
    })),
    deleted: plan.deleted.map(({ id, hook }) => ({ id, hook_type: typeOf(hook) })),
    unchanged: plan.unchanged.map(({ id, index, hook, matchedBy }) => ({ id, index, hook_type: typeOf(hook), matched_by: matchedBy })),
  };
}
