import { isUtf8 } from 'node:buffer';
import { asBuffer } from '../core/as-buffer.js';
import { HookError } from '../core/hook-error.js';
import { jsonTextNestsDeeperThan } from '../transports/json-depth.js';
import { dropProtoKeys, mayNameProto } from '../transports/rest/decode.js';
import { isEventTypeName } from './event-type-name.js';
import type { StreamEvent } from './stream-events.js';

/**
 * Parses an event's JSON bytes (already verified and inflated) with the REST callbacks' rules:
 * valid UTF-8, nesting bounded before `JSON.parse`, `__proto__` keys dropped. An event is an
 * object with a `type` shaped like Stream's; its other fields are passed on as sent.
 */
export function parseEvent(body: Uint8Array, maxJsonDepth: number): StreamEvent | HookError {
  if (body.length === 0) return new HookError('malformed_json', 'request body is empty');
  const text = asBuffer(body).toString('utf8');
  if (text.indexOf('\ufffd') !== -1 && !isUtf8(body)) return new HookError('malformed_json', 'body is not valid JSON: invalid UTF-8');
  if (jsonTextNestsDeeperThan(text, body, maxJsonDepth)) return new HookError('malformed_json', `JSON nests deeper than ${maxJsonDepth} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return new HookError('malformed_json', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new HookError('invalid_payload', 'an event must be a JSON object with a "type"');
  }
  const type = (parsed as { type?: unknown }).type;
  if (typeof type !== 'string' || !isEventTypeName(type)) {
    return new HookError('invalid_payload', 'type: an event needs a "type" such as "message.new"');
  }
  if (mayNameProto(text)) dropProtoKeys(parsed, 0);
  return parsed as StreamEvent;
}
