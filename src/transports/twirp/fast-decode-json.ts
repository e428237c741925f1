import { HookError } from '../../core/hook-error.js';
import type { DecodedPayload } from '../../event/pending-message-event.js';
import type { PendingMessage, RequestInfo } from '../../event/message-schema.js';
import {
  kindBool,
  kindMessage,
  kindMessageList,
  kindString,
  kindStringMap,
  kindStruct,
  type MessagePlan,
  type RequestPlan,
} from './fast-decode-plan.js';

/*
 * A protobuf-JSON reader compiled from a `RequestPlan`: it walks the value `JSON.parse` gave
 * and builds the REST-shaped payload directly, with the same result as
 * `payloadFromRequest(fromJson(schema, json, { ignoreUnknownFields: true }))` for every JSON
 * value, including the ones protobuf-es rejects. The rules it mirrors (protobuf-es 2):
 *
 * - a field is found by its proto name or its lowerCamelCase JSON name; both in one object
 *   is an error ("set multiple times"), even when one is null; unknown keys are ignored;
 * - `null` unsets a field (an implicit scalar then has its zero value), and is skipped as a
 *   list or a map; a `null` list item or map value is an error;
 * - strings only for string fields, and they must be well-formed UTF-16 (no lone surrogate);
 *   `true`/`false` only for bools; objects (not arrays) for messages and Structs; arrays for
 *   lists; objects with string values for maps (keys well-formed too);
 * - a Struct takes any JSON object as is, except that `__proto__` keys are dropped at every
 *   level (protobuf-es assigns them, which sets a prototype instead of adding a key);
 * - recursion: each message, Struct and Value counts one level (a list is not a level).
 *
 * Parsed objects of Struct fields and of `metadata` are used in place (the reference copies
 * them into objects with the same keys in the same order, so the result is the same).
 */

class Malformed {
  constructor(readonly reason: string) {}
}

function malformed(reason: string): never {
  throw new Malformed(reason);
}

type JsonRecord = Record<string, unknown>;

const wellFormed: (text: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (text) => (text as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (text) => {
        // What protobuf-es checks: encodeURIComponent throws on lone surrogates.
        try {
          encodeURIComponent(text);
          return true;
        } catch {
          return false;
        }
      };

function isObject(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

let limit = 0;

/** Checks a Struct at `depth` (its values are one deeper) and drops its `__proto__` keys. */
function checkStruct(object: JsonRecord, depth: number): void {
  let hasProto = false;
  for (const key of Object.keys(object)) {
    if (key === '__proto__') hasProto = true;
    checkValue(object[key], depth + 1);
  }
  if (hasProto) delete object['__proto__'];
}

function checkValue(value: unknown, depth: number): void {
  if (depth > limit) malformed(`cannot decode google.protobuf.Value from JSON: maximum recursion depth of ${limit} reached`);
  if (typeof value === 'object') {
    if (value === null) return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) checkValue(value[i], depth + 1);
    } else {
      checkStruct(value as JsonRecord, depth);
    }
  } else if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    malformed(`cannot decode google.protobuf.Value from JSON: ${typeof value}`);
  }
}

/** A valid value of a string field: a string without lone surrogates (protobuf-es `checkUtf8`). */
function isStringValue(value: unknown): value is string {
  return typeof value === 'string' && (!mayHaveLoneSurrogates || wellFormed(value));
}

/** False when the JSON text had no `\u` escape, the only way to a lone surrogate. */
let mayHaveLoneSurrogates = true;

/**
 * False when no Struct in the text can nest past the recursion limit or hold a `__proto__` key
 * (the caller knows from the text): Struct values, always valid JSON values, then need no walk.
 */
let structsNeedWalk = true;

/** The error of an invalid string value; `where` is built only then, not on the hot path. */
function badString(value: unknown, where: string): never {
  return malformed(`${where}: ${typeof value === 'string' ? 'invalid UTF8' : `expected string, got ${describe(value)}`}`);
}

/**
 * Whether `Object.prototype` has enumerable properties (it never should): then `for…in` would
 * list them for every object, and the own keys are listed with `Object.keys` instead.
 */
let inheritedKeys = false;

function hasEnumerableKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/** The values of the fields of a message object, by field index; two names of one field fail. */
function collectFields(plan: MessagePlan, json: JsonRecord): unknown[] {
  const byJsonKey = plan.byJsonKey;
  const values = new Array<unknown>(plan.fields.length);
  if (!inheritedKeys) {
    // The own enumerable keys, in the order of Object.keys, without allocating their array.
    for (const key in json) {
      const field = byJsonKey[key];
      if (field === undefined) continue;
      // JSON values are never undefined: a set slot means the field came twice.
      if (values[field.index] !== undefined) malformed(`${plan.typeName}.${field.name}: set multiple times`);
      values[field.index] = json[key];
    }
  } else {
    for (const key of Object.keys(json)) {
      const field = byJsonKey[key];
      if (field === undefined) continue;
      if (values[field.index] !== undefined) malformed(`${plan.typeName}.${field.name}: set multiple times`);
      values[field.index] = json[key];
    }
  }
  return values;
}

/** A message object at `depth` in the REST shape (see `message-convert.ts`). */
function readMessage(plan: MessagePlan, json: JsonRecord, depth: number): Record<string, unknown> {
  if (depth > limit) malformed(`cannot decode ${plan.typeName} from JSON: maximum recursion depth of ${limit} reached`);
  const fields = plan.fields;
  const values = collectFields(plan, json);
  const out = new plan.Output();
  let custom: JsonRecord | undefined;
  /** Whether a key of `custom` names a typed field; undefined when not looked at. */
  let customShadowsTyped: boolean | undefined;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const value = values[i];
    if (value === undefined || value === null) {
      if (field.implicit && field.zero !== undefined) out[field.name] = field.zero;
      continue;
    }
    switch (field.kind) {
      case kindString:
        if (!isStringValue(value)) badString(value, `${plan.typeName}.${field.name}`);
        out[field.name] = value;
        break;
      case kindBool:
        if (typeof value !== 'boolean') malformed(`${plan.typeName}.${field.name}: expected bool, got ${describe(value)}`);
        out[field.name] = value;
        break;
      case kindMessage:
        if (!isObject(value)) malformed(`cannot decode ${field.message!.typeName} from JSON: ${describe(value)}`);
        out[field.name] = readMessage(field.message!, value, depth + 1);
        break;
      case kindMessageList: {
        if (!Array.isArray(value)) malformed(`${plan.typeName}.${field.name}: expected Array, got ${describe(value)}`);
        const sub = field.message!;
        const items = new Array<Record<string, unknown>>(value.length);
        for (let j = 0; j < value.length; j++) {
          const item: unknown = value[j];
          if (item === null) malformed(`${plan.typeName}.${field.name}: list item must not be null`);
          if (!isObject(item)) malformed(`cannot decode ${sub.typeName} from JSON: ${describe(item)}`);
          items[j] = readMessage(sub, item, depth + 1);
        }
        if (items.length > 0) out[field.name] = items;
        break;
      }
      case kindStruct: {
        if (!isObject(value)) malformed(`cannot decode google.protobuf.Struct from JSON ${describe(value)}`);
        if (depth + 1 > limit) malformed(`cannot decode google.protobuf.Struct from JSON: maximum recursion depth of ${limit} reached`);
        custom = value;
        if (!structsNeedWalk) break;
        // checkStruct, noting keys that name a typed field on the way.
        const typed = plan.typedNames;
        let hasProto = false;
        customShadowsTyped = false;
        for (const key of Object.keys(value)) {
          if (key === '__proto__') hasProto = true;
          else if (typed.has(key)) customShadowsTyped = true;
          checkValue(value[key], depth + 2);
        }
        if (hasProto) delete value['__proto__'];
        break;
      }
      case kindStringMap:
        // Only on the request: read there.
        break;
    }
  }
  if (custom !== undefined) {
    if (customShadowsTyped === false) {
      // Same as the loop below when no key is dropped (`__proto__` is gone already).
      Object.assign(out, custom);
    } else {
      const typed = plan.typedNames;
      if (inheritedKeys) {
        for (const key of Object.keys(custom)) if (!typed.has(key)) out[key] = custom[key];
      } else {
        for (const key in custom) if (!typed.has(key)) out[key] = custom[key];
      }
    }
  }
  return out;
}

/** `map<string, string>`: the parsed object itself, checked, without `__proto__`. */
function readStringMap(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) malformed(`${where}: expected object, got ${describe(value)}`);
  let hasProto = false;
  for (const key of Object.keys(value)) {
    if (mayHaveLoneSurrogates && !wellFormed(key)) malformed(`${where}: invalid map key: invalid UTF8`);
    const entry = value[key];
    if (entry === null) malformed(`${where}: map value must not be null`);
    if (!isStringValue(entry)) badString(entry, `${where}: map entry ${JSON.stringify(key)}`);
    if (key === '__proto__') hasProto = true;
  }
  if (hasProto) delete value['__proto__'];
  return value as Record<string, string>;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (typeof value === 'string') return value.length > 30 ? 'string' : JSON.stringify(value);
  return typeof value === 'object' ? 'object' : String(value);
}

/**
 * Compiles the JSON reader of a request plan. It takes the parsed body, already known to be
 * a JSON object (not an array), and may reuse and change parts of it.
 */
export function compileJsonReader(
  plan: RequestPlan,
  recursionLimit: number,
): (json: Record<string, unknown>, textHasEscapes?: boolean, structsMayNeedWalk?: boolean) => DecodedPayload | HookError {
  const request = plan.request;
  const messageField = plan.messageField;
  const metadataField = plan.metadataField;
  const requestInfoField = plan.requestInfoField;
  const idName = plan.idField.name;
  const failure = `the request body is not a valid ${plan.typeName} in protobuf JSON`;
  const metadataName = `${plan.typeName}.${metadataField.name}`;

  return function readRequest(json: Record<string, unknown>, textHasEscapes = true, structsMayNeedWalk = true): DecodedPayload | HookError {
    limit = recursionLimit;
    mayHaveLoneSurrogates = textHasEscapes;
    structsNeedWalk = structsMayNeedWalk || textHasEscapes;
    let message: Record<string, unknown> | undefined;
    let metadata: Record<string, string>;
    let requestInfo: Record<string, unknown> | undefined;
    try {
      if (limit < 1) malformed(`cannot decode ${plan.typeName} from JSON: maximum recursion depth of ${limit} reached`);
      inheritedKeys = hasEnumerableKeys(Object.prototype);
      const values = collectFields(request, json);
      // Field by field in declaration order, as protobuf-es reports the first error it meets;
      // which error comes first does not matter: every one is malformed_json.
      const rawMessage = values[messageField.index];
      if (rawMessage !== undefined && rawMessage !== null) {
        if (!isObject(rawMessage)) malformed(`cannot decode ${messageField.message!.typeName} from JSON: ${describe(rawMessage)}`);
        message = readMessage(messageField.message!, rawMessage, 2);
      }
      metadata = readStringMap(values[metadataField.index], metadataName);
      const rawInfo = values[requestInfoField.index];
      if (rawInfo !== undefined && rawInfo !== null) {
        if (!isObject(rawInfo)) malformed(`cannot decode ${requestInfoField.message!.typeName} from JSON: ${describe(rawInfo)}`);
        requestInfo = readMessage(requestInfoField.message!, rawInfo, 2);
      }
    } catch (error) {
      if (error instanceof Malformed) return new HookError('malformed_json', failure, error.reason);
      return new HookError('malformed_json', failure, error instanceof Error ? error.message : String(error));
    }
    if (message === undefined || message[idName] === '') {
      return new HookError('invalid_payload', 'message.id is required');
    }
    return {
      message: message as PendingMessage,
      metadata,
      requestInfo: (requestInfo ?? {}) as RequestInfo,
    };
  };
}
