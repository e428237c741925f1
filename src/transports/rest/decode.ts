import { asBuffer } from '../../core/as-buffer.js';
import { HookError } from '../../core/hook-error.js';
import { compileFastCheck } from '../../event/compile-validator.js';
import { pendingMessageBodySchema, type PendingMessageBody } from '../../event/message-schema.js';
import type { DecodedPayload } from '../../event/pending-message-event.js';
import type { DecodeLimits } from '../codec.js';
import { jsonTextNestsDeeperThan } from '../json-depth.js';

// Valid bodies take the compiled check; zod itself runs only to explain a refusal.
const isValidBody = compileFastCheck(pendingMessageBodySchema);

/** Parses and validates a REST callback body (already verified) into the neutral payload. */
export function decodeRestBody(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
  if (body.length === 0) return new HookError('malformed_json', 'request body is empty');
  const text = asBuffer(body).toString('utf8');
  if (jsonTextNestsDeeperThan(text, body, limits.maxJsonDepth)) {
    return new HookError('malformed_json', `JSON nests deeper than ${limits.maxJsonDepth} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return new HookError('malformed_json', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new HookError('invalid_payload', 'body must be a JSON object with a "message"');
  }
  let valid: PendingMessageBody;
  if (isValidBody?.(parsed)) valid = parsed as PendingMessageBody;
  else {
    const result = pendingMessageBodySchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : 'body';
      return new HookError('invalid_payload', `${where}: ${issue?.message ?? 'invalid'}`);
    }
    valid = result.data;
  }
  const { message, metadata, request_info } = valid;
  return { message, metadata: metadata ?? {}, requestInfo: request_info ?? {} };
}
