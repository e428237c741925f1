import { HookError } from '../../../core/hook-error.js';
import { decoderBug } from '../decoder-bug.js';
import type { DecodedPayload } from '../../../event/pending-message-event.js';
import type { PendingMessage, RequestInfo } from '../../../event/message-schema.js';
import {
  kindBool,
  kindMessage,
  kindMessageList,
  kindString,
  kindStringMap,
  kindStruct,
  type MessagePlan,
  type RequestPlan,
} from './plan.js';

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

/**
 * Flattens a message's Struct field (at `depth`) into its output, after the typed fields: keys
 * naming a typed field and `__proto__` are skipped, and every value is checked on the way as
 * checkStruct would (nesting, `__proto__` keys dropped inside).
 */
function flattenCustom(out: JsonRecord, custom: JsonRecord, depth: number, typed: Set<string>): void {
  const valueDepth = depth + 2;
  if (valueDepth > limit && (inheritedKeys ? Object.keys(custom).length > 0 : hasEnumerableKeys(custom))) {
    malformed(`cannot decode google.protobuf.Value from JSON: maximum recursion depth of ${limit} reached`);
  }
  if (inheritedKeys) {
    for (const key of Object.keys(custom)) flattenEntry(out, key, custom[key], valueDepth, typed);
  } else {
    for (const key in custom) flattenEntry(out, key, custom[key], valueDepth, typed);
  }
}

function flattenEntry(out: JsonRecord, key: string, value: unknown, depth: number, typed: Set<string>): void {
  if (typeof value === 'object' && value !== null) checkValue(value, depth);
  if (key !== '__proto__' && !typed.has(key)) out[key] = value;
}

/** A message object at `depth` in the REST shape (see `message-convert.ts`). */
function readMessage(plan: MessagePlan, json: JsonRecord, depth: number): Record<string, unknown> {
  if (depth > limit) malformed(`cannot decode ${plan.typeName} from JSON: maximum recursion depth of ${limit} reached`);
  const fields = plan.fields;
  const values = collectFields(plan, json);
  const out = new plan.Output();
  let custom: JsonRecord | undefined;
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
      case kindStruct:
        if (!isObject(value)) malformed(`cannot decode google.protobuf.Struct from JSON ${describe(value)}`);
        if (depth + 1 > limit) malformed(`cannot decode google.protobuf.Struct from JSON: maximum recursion depth of ${limit} reached`);
        custom = value;
        break;
      case kindStringMap:
        // Only on the request: read there.
        break;
    }
  }
  if (custom !== undefined) flattenCustom(out, custom, depth, plan.typedNames);
  return out;
}

type MessageReader = (json: JsonRecord, depth: number) => Record<string, unknown>;

/** What generated readers call: the module's checks, with its per-call state. */
const runtime = {
  malformed,
  badString,
  isStringValue,
  isObject,
  describe,
  flattenCustom,
  limit: () => limit,
};

/**
 * `readMessage` unrolled per message plan into straight-line JavaScript (one `new Function` at
 * load): each field read by its two names as constant keys, checked and stored in declaration
 * order, with the same results and errors, and no per-message array of values or walk over
 * the keys. Undefined when code generation is disallowed; `readMessage` then reads.
 *
 * Fields are read with `json[name]`, which also sees inherited properties: generated readers are
 * used only while `Object.prototype` has no enumerable keys (and no field is named like one of
 * its built-in properties). A *non-enumerable* property added to `Object.prototype` under a
 * field's name would be read as that field, as protobuf-es (the reference) reads it too.
 */
function generateReaders(roots: readonly MessagePlan[]): Map<MessagePlan, MessageReader> | undefined {
  const plans: MessagePlan[] = [];
  const visit = (plan: MessagePlan) => {
    if (plans.includes(plan)) return;
    plans.push(plan);
    for (const field of plan.fields) if (field.message && (field.kind === kindMessage || field.kind === kindMessageList)) visit(field.message);
  };
  roots.forEach(visit);
  if (plans.some((plan) => plan.fields.some((field) => field.name in Object.prototype || field.jsonName in Object.prototype))) return undefined;
  const q = (value: unknown) => JSON.stringify(value);
  const lines: string[] = ['const rt = runtime;'];
  plans.forEach((plan, k) => {
    lines.push(`const O${k} = outputs[${k}], T${k} = typed[${k}];`);
    lines.push(`function read${k}(json, depth) {`);
    lines.push(`if (depth > rt.limit()) rt.malformed(${q(`cannot decode ${plan.typeName} from JSON: maximum recursion depth of `)} + rt.limit() + ' reached');`);
    plan.fields.forEach((field, i) => {
      lines.push(`let v${i} = json[${q(field.name)}];`);
      if (field.jsonName !== field.name) {
        lines.push(
          `const w${i} = json[${q(field.jsonName)}];`,
          `if (w${i} !== undefined) { if (v${i} !== undefined) rt.malformed(${q(`${plan.typeName}.${field.name}: set multiple times`)}); v${i} = w${i}; }`,
        );
      }
    });
    lines.push(`const out = new O${k}();`, 'let custom;');
    plan.fields.forEach((field, i) => {
      const v = `v${i}`;
      const key = q(field.name);
      const where = `${plan.typeName}.${field.name}`;
      const unset = field.implicit && field.zero !== undefined ? `out[${key}] = ${q(field.zero)};` : '';
      lines.push(`if (${v} === undefined || ${v} === null) { ${unset} } else {`);
      switch (field.kind) {
        case kindString:
          lines.push(`if (!rt.isStringValue(${v})) rt.badString(${v}, ${q(where)});`, `out[${key}] = ${v};`);
          break;
        case kindBool:
          lines.push(`if (typeof ${v} !== 'boolean') rt.malformed(${q(`${where}: expected bool, got `)} + rt.describe(${v}));`, `out[${key}] = ${v};`);
          break;
        case kindMessage:
          lines.push(
            `if (!rt.isObject(${v})) rt.malformed(${q(`cannot decode ${field.message!.typeName} from JSON: `)} + rt.describe(${v}));`,
            `out[${key}] = read${plans.indexOf(field.message!)}(${v}, depth + 1);`,
          );
          break;
        case kindMessageList:
          lines.push(
            `if (!Array.isArray(${v})) rt.malformed(${q(`${where}: expected Array, got `)} + rt.describe(${v}));`,
            `const items = new Array(${v}.length);`,
            `for (let j = 0; j < ${v}.length; j++) {`,
            `const item = ${v}[j];`,
            `if (item === null) rt.malformed(${q(`${where}: list item must not be null`)});`,
            `if (!rt.isObject(item)) rt.malformed(${q(`cannot decode ${field.message!.typeName} from JSON: `)} + rt.describe(item));`,
            `items[j] = read${plans.indexOf(field.message!)}(item, depth + 1);`,
            '}',
            `if (items.length > 0) out[${key}] = items;`,
          );
          break;
        case kindStruct:
          lines.push(
            `if (!rt.isObject(${v})) rt.malformed('cannot decode google.protobuf.Struct from JSON ' + rt.describe(${v}));`,
            `if (depth + 1 > rt.limit()) rt.malformed('cannot decode google.protobuf.Struct from JSON: maximum recursion depth of ' + rt.limit() + ' reached');`,
            `custom = ${v};`,
          );
          break;
        default:
          break; // map<string, string> is read on the request only (compileRequestPlan refuses it elsewhere)
      }
      lines.push('}');
    });
    lines.push(`if (custom !== undefined) rt.flattenCustom(out, custom, depth, T${k});`, 'return out;', '}');
  });
  lines.push(`return [${plans.map((_, k) => `read${k}`).join(', ')}];`);
  let readers: MessageReader[];
  try {
    readers = new Function('runtime', 'outputs', 'typed', lines.join('\n'))(
      runtime,
      plans.map((plan) => plan.Output),
      plans.map((plan) => plan.typedNames),
    ) as MessageReader[];
  } catch (error) {
    // Code generation disallowed (--disallow-code-generation-from-strings): readMessage reads.
    // Anything else is a bug in the generator, and must not hide behind the slow path.
    if (error instanceof EvalError) return undefined;
    throw error;
  }
  return new Map(plans.map((plan, k) => [plan, readers[k]!]));
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
): (json: Record<string, unknown>, textHasEscapes?: boolean) => DecodedPayload | HookError {
  const request = plan.request;
  const messageField = plan.messageField;
  const metadataField = plan.metadataField;
  const requestInfoField = plan.requestInfoField;
  const idName = plan.idField.name;
  const failure = `the request body is not a valid ${plan.typeName} in protobuf JSON`;
  const metadataName = `${plan.typeName}.${metadataField.name}`;
  const generated = generateReaders([messageField.message!, requestInfoField.message!]);
  const readMessageField = generated?.get(messageField.message!);
  const readRequestInfoField = generated?.get(requestInfoField.message!);

  return function readRequest(json: Record<string, unknown>, textHasEscapes = true): DecodedPayload | HookError {
    limit = recursionLimit;
    mayHaveLoneSurrogates = textHasEscapes;
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
        message = readMessageField && !inheritedKeys ? readMessageField(rawMessage, 2) : readMessage(messageField.message!, rawMessage, 2);
      }
      metadata = readStringMap(values[metadataField.index], metadataName);
      const rawInfo = values[requestInfoField.index];
      if (rawInfo !== undefined && rawInfo !== null) {
        if (!isObject(rawInfo)) malformed(`cannot decode ${requestInfoField.message!.typeName} from JSON: ${describe(rawInfo)}`);
        requestInfo = readRequestInfoField && !inheritedKeys ? readRequestInfoField(rawInfo, 2) : readMessage(requestInfoField.message!, rawInfo, 2);
      }
    } catch (error) {
      if (error instanceof Malformed) return new HookError('malformed_json', failure, error.reason);
      // Anything else is a bug, not the client's fault.
      return decoderBug('the compiled JSON reader', error);
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
