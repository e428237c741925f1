import { isUtf8 } from 'node:buffer';
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
  // JSON is UTF-8: toString replaces broken sequences with U+FFFD, so only text that has one
  // needs the full check (the Twirp JSON decoder applies the same rule).
  if (text.indexOf('\ufffd') !== -1 && !isUtf8(body)) return new HookError('malformed_json', 'body is not valid JSON: invalid UTF-8');
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
  if (mayNameProto(text)) dropProtoKeys(valid, 0);
  const { message, metadata, request_info } = valid;
  return { message, metadata: metadata ?? {}, requestInfo: request_info ?? {} };
}

/**
 * Whether the text may hold a `__proto__` key: spelled out, or behind a `\\u` escape. JSON.parse
 * makes such a key an own property, harmless until a handler copies the object with
 * `Object.assign` or a merge, which then sets the copy's prototype. Twirp's decoders drop these
 * keys; so does REST, so both transports hand the handler the same objects.
 */
export function mayNameProto(text: string): boolean {
  return text.includes('__proto__') || text.includes('\\u');
}

export function dropProtoKeys(value: unknown, depth: number): void {
  // The depth was bounded before parsing; the guard only keeps a bug from recursing forever.
  if (typeof value !== 'object' || value === null || depth > 1000) return;
  if (Array.isArray(value)) {
    for (const item of value) dropProtoKeys(item, depth + 1);
    return;
  }
  if (Object.hasOwn(value, '__proto__')) delete (value as Record<string, unknown>)['__proto__'];
  for (const key in value) dropProtoKeys((value as Record<string, unknown>)[key], depth + 1);
}
