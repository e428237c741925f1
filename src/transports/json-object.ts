import { isUtf8 } from 'node:buffer';
import { asBuffer } from '../core/as-buffer.js';
import { HookError } from '../core/hook-error.js';
import { jsonTextNestsDeeperThan } from './json-depth.js';

/**
 * The rules every JSON body meets — REST callbacks, event webhooks, SQS and SNS payloads: valid
 * UTF-8, nesting bounded before `JSON.parse`, an object at the top, `__proto__` keys dropped.
 * `notAnObject` is the refusal's text when the top is not an object.
 */
export function parseJsonObject(body: Uint8Array, maxJsonDepth: number, notAnObject: string): object | HookError {
  if (body.length === 0) return new HookError('malformed_json', 'request body is empty');
  const text = asBuffer(body).toString('utf8');
  // JSON is UTF-8: toString replaces broken sequences with U+FFFD, so only text that has one
  // needs the full check (the Twirp JSON decoder applies the same rule).
  if (text.indexOf('\ufffd') !== -1 && !isUtf8(body)) return new HookError('malformed_json', 'body is not valid JSON: invalid UTF-8');
  if (jsonTextNestsDeeperThan(text, body, maxJsonDepth)) {
    return new HookError('malformed_json', `JSON nests deeper than ${maxJsonDepth} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return new HookError('malformed_json', `body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return new HookError('invalid_payload', notAnObject);
  if (mayNameProto(text)) dropProtoKeys(parsed, 0);
  return parsed;
}

/**
 * Whether the text may hold a `__proto__` key: spelled out, or behind a `\\u` escape. JSON.parse
 * makes such a key an own property, harmless until a handler copies the object with
 * `Object.assign` or a merge, which then sets the copy's prototype. Twirp's decoders drop these
 * keys; so does REST, so both transports hand the handler the same objects.
 */
function mayNameProto(text: string): boolean {
  return text.includes('__proto__') || text.includes('\\u');
}

function dropProtoKeys(value: unknown, depth: number): void {
  // The depth was bounded before parsing; the guard only keeps a bug from recursing forever.
  if (typeof value !== 'object' || value === null || depth > 1000) return;
  if (Array.isArray(value)) {
    for (const item of value) dropProtoKeys(item, depth + 1);
    return;
  }
  if (Object.hasOwn(value, '__proto__')) delete (value as Record<string, unknown>)['__proto__'];
  for (const key in value) dropProtoKeys((value as Record<string, unknown>)[key], depth + 1);
}
