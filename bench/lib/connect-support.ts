import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Whether `createPendingHooks` has a `connect` option yet (the opt-in Connect transport is
 * being added while this benchmark is written). Read from the source, at run time: a
 * `connect?:` member of `PendingHooksOptions` in src/pending-hooks.ts. When it is there the
 * Connect row must be measured (a failure is a failure); when it is not the row is "n/a".
 */
export function connectOptionInSource(): boolean {
  // BENCH_NO_CONNECT=1 behaves as if the option were absent (to check the "n/a" path).
  if (process.env.BENCH_NO_CONNECT === '1') return false;
  const file = fileURLToPath(new URL('../../src/pending-hooks.ts', import.meta.url));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const start = text.indexOf('export interface PendingHooksOptions');
  if (start < 0) return false;
  // The interface body: up to the first line that is a lone closing brace.
  const end = text.indexOf('\n}', start);
  const body = text.slice(start, end < 0 ? undefined : end);
  return /^\s*(?:readonly\s+)?connect\??\s*:/m.test(body);
}
