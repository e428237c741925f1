import { HookError } from '../../core/hook-error.js';
import { compileFastCheck } from '../../event/compile-validator.js';
import { pendingMessageBodySchema, type PendingMessageBody } from '../../event/message-schema.js';
import type { DecodedPayload } from '../../event/pending-message-event.js';
import type { DecodeLimits } from '../codec.js';
import { parseJsonObject } from '../json-object.js';

// Valid bodies take the compiled check; zod itself runs only to explain a refusal.
const isValidBody = compileFastCheck(pendingMessageBodySchema);

/** Parses and validates a REST callback body (already verified) into the neutral payload. */
export function decodeRestBody(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
  const parsed = parseJsonObject(body, limits.maxJsonDepth, 'body must be a JSON object with a "message"');
  if (parsed instanceof HookError) return parsed;
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
