import { HookError } from '../../core/hook-error.js';

/**
 * The answer to an exception a decoder did not expect: a bug in our code (or in a library), not
 * malformed input, which every decoder reports as a value. It is Twirp `internal` (HTTP 500),
 * never the client's `malformed`, and the pipeline logs it at error level with `detail`: the
 * error and its stack (never sent to the client).
 */
export function decoderBug(where: string, error: unknown): HookError {
  const described = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return new HookError('internal', 'internal error', `${where} threw (a bug, not malformed input): ${described}`);
}
