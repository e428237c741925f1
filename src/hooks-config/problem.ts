import type { z } from 'zod';

/**
 * How bad a finding is. `error`: Stream would refuse the configuration, or it would not do what
 * it says. `warning`: legal, but risky. `note`: how Stream will read it.
 */
export type ProblemSeverity = 'error' | 'warning' | 'note';

/** What kind of finding, for programs (tests, `--json` consumers); the message is for people. */
export type ProblemCode =
  | 'invalid_value'
  | 'missing_field'
  | 'unknown_hook_type'
  | 'misspelled_field'
  | 'unknown_field'
  | 'field_of_other_type'
  | 'unused_field'
  | 'duplicate_id'
  | 'too_many_pending_message_hooks'
  | 'longest_timeout_wins'
  | 'all_events'
  | 'disabled'
  | 'duplicate_event_type'
  | 'unusual_event_type'
  | 'delete_marker'
  | 'not_a_list';

/** One finding about an `event_hooks` list, at a path such as `event_hooks[2].sns_topic_arn`. */
export interface HooksProblem {
  severity: ProblemSeverity;
  code: ProblemCode;
  /** Where: `event_hooks`, `event_hooks[0]`, `event_hooks[0].callback.mode`. */
  path: string;
  /** A plain-language reason. */
  message: string;
  /** For `misspelled_field`: the field meant. */
  correction?: string;
}

/** `event_hooks[1].callback.mode` from `['event_hooks', 1, 'callback', 'mode']`-like pieces. */
export function joinPath(base: string, segments: readonly PropertyKey[]): string {
  let path = base;
  for (const segment of segments) path += typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`;
  return path;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

/**
 * One zod issue as a plain-language problem. `input` is only present in issues when parsing ran
 * with `reportInput: true`; a missing `input` key means the value was absent.
 */
export function problemFromIssue(issue: z.core.$ZodIssue, base: string, hookType: string): HooksProblem {
  const path = joinPath(base, issue.path);
  const field = issue.path.at(-1);
  const input = (issue as { input?: unknown }).input;
  const missing = !('input' in issue) || input === undefined || input === null || input === '';
  const inList = typeof field === 'number';
  switch (issue.code) {
    case 'invalid_type':
      if (missing && !inList) {
        const what = issue.expected === 'object' ? ' (an object with "mode")' : '';
        return { severity: 'error', code: 'missing_field', path, message: `is required for ${hookType} hooks${what}` };
      }
      return { severity: 'error', code: 'invalid_value', path, message: `must be ${typeNames[issue.expected] ?? issue.expected} (got ${describeValue(input)})` };
    case 'invalid_value': {
      const allowed = issue.values.map((value) => String(value)).join(', ');
      if (missing) return { severity: 'error', code: 'missing_field', path, message: `is required for ${hookType} hooks: one of ${allowed}` };
      return { severity: 'error', code: 'invalid_value', path, message: `must be one of ${allowed} (got ${describeValue(input)})` };
    }
    case 'too_small':
      if (issue.origin === 'string') {
        if (inList) return { severity: 'error', code: 'invalid_value', path, message: 'must not be an empty string' };
        return { severity: 'error', code: 'missing_field', path, message: `is required for ${hookType} hooks (it is empty)` };
      }
      return { severity: 'error', code: 'invalid_value', path, message: `must be greater than ${String(issue.minimum)} (got ${describeValue(input)})` };
    case 'invalid_format':
      return { severity: 'error', code: 'invalid_value', path, message: `${issue.message} (got ${describeValue(input)})` };
    case 'custom':
      return { severity: 'error', code: missing ? 'missing_field' : 'invalid_value', path, message: missing ? issue.message : `${issue.message} (got ${describeValue(input)})` };
    default:
      return { severity: 'error', code: 'invalid_value', path, message: issue.message };
  }
}

/** Counts by severity, for summary lines. */
export function countProblems(problems: readonly HooksProblem[]): Record<ProblemSeverity, number> {
  const counts = { error: 0, warning: 0, note: 0 };
  for (const problem of problems) counts[problem.severity]++;
  return counts;
}
