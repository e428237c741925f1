import { HookError } from '../../core/hook-error.js';
import { pendingMessageBodySchema } from '../../event/message-schema.js';
import type { DecodedPayload } from '../../event/pending-message-event.js';
import type { DecodeLimits } from '../codec.js';
import { jsonNestsDeeperThan } from '../json-depth.js';

const emptyRecord: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Parses and validates a REST callback body (already verified) into the neutral payload. */
export function decodeRestBody(body: Uint8Array, limits: DecodeLimits): DecodedPayload | HookError {
  if (body.length === 0) return new HookError('malformed_json', 'request body is empty');
  if (jsonNestsDeeperThan(body, limits.maxJsonDepth)) {
    return new HookError('malformed_json', `JSON nests deeper than ${limits.maxJsonDepth} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    return new HookError('malformed_json', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new HookError('invalid_payload', 'body must be a JSON object with a "message"');
  }
  const result = pendingMessageBodySchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'body';
    return new HookError('invalid_payload', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const { message, metadata, request_info } = result.data;
  return { message, metadata: metadata ?? emptyRecord, requestInfo: request_info ?? {} };
}
