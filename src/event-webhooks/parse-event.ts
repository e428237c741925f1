import { HookError } from '../core/hook-error.js';
import { parseJsonObject } from '../transports/json-object.js';
import { isEventTypeName } from './event-type-name.js';
import type { StreamEvent } from './stream-events.js';

/**
 * Parses an event's JSON bytes (already verified and inflated) with the REST callbacks' rules:
 * valid UTF-8, nesting bounded before `JSON.parse`, `__proto__` keys dropped. An event is an
 * object with a `type` shaped like Stream's; its other fields are passed on as sent.
 */
export function parseEvent(body: Uint8Array, maxJsonDepth: number): StreamEvent | HookError {
  const parsed = parseJsonObject(body, maxJsonDepth, 'an event must be a JSON object with a "type"');
  if (parsed instanceof HookError) return parsed;
  const type = (parsed as { type?: unknown }).type;
  if (typeof type !== 'string' || !isEventTypeName(type)) {
    return new HookError('invalid_payload', 'type: an event needs a "type" such as "message.new"');
  }
  return parsed as StreamEvent;
}
