import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';

/*
 * Decoding plans compiled once, at module load, from the generated protobuf-es descriptors:
 * the descriptors stay the one source of truth for field names, numbers and kinds. The fast
 * decoders (`binary.ts`, `json.ts`) walk these plans and build the
 * REST-shaped payload directly, following the conversion rule of `message-convert.ts`:
 *
 * - output keys are proto field names (snake_case);
 * - unset fields with explicit presence are omitted, implicit-presence scalars always appear;
 * - empty repeated fields are omitted (proto3 cannot tell empty from absent);
 * - a `google.protobuf.Struct` field is flattened into its object after the typed fields,
 *   skipping keys that name a typed field and `__proto__`.
 *
 * A descriptor feature outside this subset makes `compileRequestPlan` return the reason it
 * cannot compile; the caller then keeps decoding with protobuf-es itself.
 */

/** Scalar `string`. */
export const kindString = 1;
/** Scalar `bool`. */
export const kindBool = 2;
/** A singular message field. */
export const kindMessage = 3;
/** A repeated message field. */
export const kindMessageList = 4;
/** `map<string, string>` (only on the request: it becomes `metadata`). */
export const kindStringMap = 5;
/** A `google.protobuf.Struct` field: decoded to a plain JSON object and flattened. */
export const kindStruct = 6;

export type FieldKind =
  | typeof kindString
  | typeof kindBool
  | typeof kindMessage
  | typeof kindMessageList
  | typeof kindStringMap
  | typeof kindStruct;

export interface FieldPlan {
  /** Position of the field in its message's `fields` (declaration order). */
  readonly index: number;
  readonly number: number;
  /** Proto name: the output key, and one of the two accepted JSON keys. */
  readonly name: string;
  readonly jsonName: string;
  readonly kind: FieldKind;
  /** Implicit presence (a proto3 scalar without `optional`): always in the output. */
  readonly implicit: boolean;
  /** The zero value an unset implicit scalar has. */
  readonly zero: string | boolean | undefined;
  /** Reject invalid UTF-8 in binary strings (protobuf-es `utf8Validation`). */
  readonly strictUtf8: boolean;
  /** The element/field message; set after construction (plans may be recursive). */
  message: MessagePlan | undefined;
}

export interface MessagePlan {
  readonly typeName: string;
  /** Every field in declaration order (the order of the output keys). */
  readonly fields: FieldPlan[];
  /** Fields by number; `undefined` holes for unknown numbers. */
  readonly byNumber: (FieldPlan | undefined)[];
  /** Fields by proto name and by lowerCamelCase JSON name (an object without prototype). */
  readonly byJsonKey: Readonly<Record<string, FieldPlan | undefined>>;
  /** The flattened Struct field, if the message has one. */
  custom: FieldPlan | undefined;
  /** Proto names of the typed (non-Struct) fields: custom keys equal to one are dropped. */
  readonly typedNames: Set<string>;
  /** Makes the (plain) output objects of this message. */
  readonly Output: new () => Record<string, unknown>;
}

/** Field numbers of the well-known JSON types, read from their descriptors. */
export interface WktPlan {
  /** `Struct.fields` (map<string, Value>). */
  readonly structFields: number;
  readonly structKeyStrictUtf8: boolean;
  readonly valueNull: number;
  readonly valueNumber: number;
  readonly valueString: number;
  readonly valueStringStrictUtf8: boolean;
  readonly valueBool: number;
  readonly valueStruct: number;
  readonly valueList: number;
  /** `ListValue.values`. */
  readonly listValues: number;
}

/** The request message and where the three parts of a `DecodedPayload` come from. */
export interface RequestPlan {
  readonly typeName: string;
  readonly request: MessagePlan;
  /** The `message` field; its plan has `idField`. */
  readonly messageField: FieldPlan;
  /** `message.id`: a request whose message has an empty id is an invalid payload. */
  readonly idField: FieldPlan;
  readonly metadataField: FieldPlan;
  readonly requestInfoField: FieldPlan;
  readonly wkt: WktPlan;
}

/**
 * A new constructor of plain objects: `new (plainObjects())()` is an ordinary object whose
 * prototype is `Object.prototype`, without own properties: the same as `{}` to every observer
 * (prototype, `constructor`, `util.inspect`, deep equality). V8 gives the objects of one
 * constructor room for as many properties as they have been seen to get; a `{}` that gets the
 * ~25 keys of a message (typed fields, then custom ones) through computed-key stores turns into
 * a slow dictionary object on the way instead, which makes building it about 3× dearer. Each
 * message plan has its own constructor, so that each learns its own size.
 */
export function plainObjects(): new () => Record<string, unknown> {
  const constructor = function PlainObject() {} as unknown as new () => Record<string, unknown>;
  constructor.prototype = Object.prototype;
  return constructor;
}

const structTypeName = 'google.protobuf.Struct';
const valueTypeName = 'google.protobuf.Value';
const listValueTypeName = 'google.protobuf.ListValue';
/** Field numbers above this are not looked up in a dense array: unsupported. */
const maxDenseFieldNumber = 4096;

class Unsupported {
  constructor(readonly reason: string) {}
}

function unsupported(reason: string): never {
  throw new Unsupported(reason);
}

/** A field the compiled decoders cannot read: with one, protobuf-es decodes every request. */
export interface UnsupportedField {
  /** Fully qualified: `pendingmessage.v1.Message.reply_count`. */
  readonly field: string;
  /** Its kind as the .proto spells it: `int32`, `repeated string`, `map<string, int32>`, `enum pendingmessage.v1.Action`, … */
  readonly kind: string;
  /** Why it is not compiled. */
  readonly reason: string;
}

/** Why a schema is not compiled: a sentence, and the fields at fault (empty for a shape problem). */
export interface PlanUnsupported {
  readonly unsupported: string;
  readonly fields: readonly UnsupportedField[];
}

/** The kind of a field as the .proto spells it. */
export function describeFieldKind(field: DescField): string {
  const scalarName = (scalar: ScalarType) => ScalarType[scalar].toLowerCase();
  const oneof = field.oneof ? ` (in oneof ${field.oneof.name})` : '';
  switch (field.fieldKind) {
    case 'scalar':
      return `${scalarName(field.scalar)}${oneof}`;
    case 'enum':
      return `enum ${field.enum.typeName}${oneof}`;
    case 'message':
      return `${field.message.typeName}${oneof}${field.delimitedEncoding ? ' (group-encoded)' : ''}`;
    case 'list': {
      const item = field.listKind === 'scalar' ? scalarName(field.scalar) : field.listKind === 'enum' ? field.enum.typeName : field.message.typeName;
      return `repeated ${item}`;
    }
    case 'map': {
      const value = field.mapKind === 'scalar' ? scalarName(field.scalar) : field.mapKind === 'enum' ? field.enum.typeName : field.message.typeName;
      return `map<${scalarName(field.mapKey)}, ${value}>`;
    }
  }
}

/**
 * Compiles the plan of a request message shaped like `PendingMessageRequest`
 * (`message`, `metadata`, `requestInfo`), or explains why it cannot.
 */
export function compileRequestPlan(schema: DescMessage): RequestPlan | PlanUnsupported {
  const fieldsAtFault: UnsupportedField[] = [];
  try {
    const wkt = compileWktPlan(schema);
    const plans = new Map<DescMessage, MessagePlan>();
    const request = compileMessage(schema, plans, true, fieldsAtFault);
    if (fieldsAtFault.length > 0) {
      const list = fieldsAtFault.map((f) => `${f.field} (${f.kind})`).join(', ');
      return { unsupported: `the fast decoders do not support ${list}`, fields: fieldsAtFault };
    }
    if (request.fields.length !== 3) unsupported(`${schema.typeName} has ${request.fields.length} fields, not 3`);
    const byLocalName = (localName: string, kind: FieldKind): FieldPlan => {
      const desc = schema.fields.find((field) => field.localName === localName);
      const plan = desc && request.fields[schema.fields.indexOf(desc)];
      if (!plan || plan.kind !== kind) unsupported(`${schema.typeName}.${localName} is missing or of another kind`);
      return plan;
    };
    const messageField = byLocalName('message', kindMessage);
    const metadataField = byLocalName('metadata', kindStringMap);
    const requestInfoField = byLocalName('requestInfo', kindMessage);
    const idField = messageField.message!.fields.find((field) => field.name === 'id');
    if (!idField || idField.kind !== kindString || !idField.implicit) {
      unsupported(`${messageField.message!.typeName}.id is not an implicit string`);
    }
    for (const info of requestInfoField.message!.fields) {
      // An absent request_info converts to `{}`: right only without always-present fields.
      if (info.implicit) unsupported(`${requestInfoField.message!.typeName}.${info.name} has implicit presence`);
    }
    return { typeName: schema.typeName, request, messageField, idField, metadataField, requestInfoField, wkt };
  } catch (error) {
    if (error instanceof Unsupported) return { unsupported: error.reason, fields: fieldsAtFault };
    throw error;
  }
}

/**
 * Compiles a message's plan. A field of a kind outside the subset is added to `fieldsAtFault`
 * (and left out of the plan) so that every such field is reported, not only the first.
 */
function compileMessage(
  desc: DescMessage,
  plans: Map<DescMessage, MessagePlan>,
  isRequest: boolean,
  fieldsAtFault: UnsupportedField[],
): MessagePlan {
  const cached = plans.get(desc);
  if (cached) return cached;
  const plan: MessagePlan = {
    typeName: desc.typeName,
    fields: [],
    byNumber: [],
    byJsonKey: Object.create(null) as Record<string, FieldPlan | undefined>,
    custom: undefined,
    typedNames: new Set(),
    Output: plainObjects(),
  };
  plans.set(desc, plan);
  let maxNumber = 0;
  for (const field of desc.fields) maxNumber = Math.max(maxNumber, field.number);
  if (maxNumber > maxDenseFieldNumber) unsupported(`${desc.typeName} has field number ${maxNumber}`);
  // Filled, not holey: reading a hole is slower than reading `undefined`.
  for (let number = 0; number <= maxNumber; number++) plan.byNumber.push(undefined);
  desc.fields.forEach((field, index) => {
    let fieldPlan: FieldPlan;
    try {
      fieldPlan = compileField(field, index, isRequest);
    } catch (error) {
      if (!(error instanceof Unsupported)) throw error;
      fieldsAtFault.push({ field: `${desc.typeName}.${field.name}`, kind: describeFieldKind(field), reason: error.reason });
      return;
    }
    plan.fields.push(fieldPlan);
    plan.byNumber[field.number] = fieldPlan;
    if (field.name === '__proto__' || field.jsonName === '__proto__') unsupported(`${field} is named __proto__`);
    const byJsonKey = plan.byJsonKey as Record<string, FieldPlan | undefined>;
    byJsonKey[field.name] = fieldPlan;
    byJsonKey[field.jsonName] = fieldPlan;
    if (fieldPlan.kind === kindStruct) {
      if (plan.custom) {
        fieldsAtFault.push({ field: `${desc.typeName}.${field.name}`, kind: describeFieldKind(field), reason: `${desc.typeName} has two Struct fields` });
        return;
      }
      plan.custom = fieldPlan;
    } else {
      plan.typedNames.add(field.name);
    }
    if (field.message && fieldPlan.kind !== kindStruct) fieldPlan.message = compileMessage(field.message, plans, false, fieldsAtFault);
  });
  return plan;
}

function compileField(field: DescField, index: number, isRequest: boolean): FieldPlan {
  // FeatureSet.FieldPresence: EXPLICIT = 1, IMPLICIT = 2 (LEGACY_REQUIRED = 3 is not supported).
  if (field.presence !== 1 && field.presence !== 2) unsupported(`${field} has presence ${field.presence}`);
  const implicit = field.presence === 2;
  const base = {
    index,
    number: field.number,
    name: field.name,
    jsonName: field.jsonName,
    implicit,
    strictUtf8: field.utf8Validation,
    message: undefined,
  };
  switch (field.fieldKind) {
    case 'scalar': {
      if (field.oneof) unsupported(`${field} is in a oneof`);
      if (field.getDefaultValue() !== undefined) unsupported(`${field} has a default value`);
      if (field.scalar === ScalarType.STRING) return { ...base, kind: kindString, zero: implicit ? '' : undefined };
      if (field.scalar === ScalarType.BOOL) return { ...base, kind: kindBool, zero: implicit ? false : undefined };
      return unsupported(`${field} has scalar type ${ScalarType[field.scalar]}`);
    }
    case 'message':
      if (field.oneof || field.delimitedEncoding) unsupported(`${field} is in a oneof or group-encoded`);
      if (field.message.typeName === structTypeName) return { ...base, kind: kindStruct, zero: undefined };
      if (field.message.typeName.startsWith('google.protobuf.')) unsupported(`${field} is a ${field.message.typeName}`);
      return { ...base, kind: kindMessage, zero: undefined };
    case 'list':
      if (field.listKind !== 'message' || field.delimitedEncoding) unsupported(`${field} is not a list of messages`);
      if (field.message.typeName.startsWith('google.protobuf.')) unsupported(`${field} is a list of ${field.message.typeName}`);
      return { ...base, kind: kindMessageList, zero: undefined };
    case 'map':
      if (!isRequest || field.mapKey !== ScalarType.STRING || field.mapKind !== 'scalar' || field.scalar !== ScalarType.STRING) {
        unsupported(`${field}: only map<string, string> on the request is supported`);
      }
      return { ...base, kind: kindStringMap, zero: undefined };
    default:
      return unsupported(`${field} is an enum`);
  }
}

/** Checks the shapes of Struct, Value and ListValue reachable from `schema` and reads their numbers. */
function compileWktPlan(schema: DescMessage): WktPlan {
  const struct = findMessage(schema, structTypeName, new Set());
  if (!struct) {
    // No Struct anywhere: the numbers are never used.
    return {
      structFields: 0,
      structKeyStrictUtf8: true,
      valueNull: 0,
      valueNumber: 0,
      valueString: 0,
      valueStringStrictUtf8: true,
      valueBool: 0,
      valueStruct: 0,
      valueList: 0,
      listValues: 0,
    };
  }
  const structFields = only(struct, 'fields');
  if (structFields.fieldKind !== 'map' || structFields.mapKey !== ScalarType.STRING || structFields.mapKind !== 'message') {
    unsupported('unexpected google.protobuf.Struct');
  }
  const value = structFields.message;
  if (value.typeName !== valueTypeName || value.fields.length !== 6 || value.oneofs.length !== 1) {
    unsupported('unexpected google.protobuf.Value');
  }
  const field = (name: string): DescField => {
    const found = value.fields.find((f) => f.name === name);
    if (!found || found.oneof !== value.oneofs[0]) unsupported(`unexpected google.protobuf.Value.${name}`);
    return found;
  };
  const valueNull = field('null_value');
  const valueNumber = field('number_value');
  const valueString = field('string_value');
  const valueBool = field('bool_value');
  const valueStruct = field('struct_value');
  const valueList = field('list_value');
  if (
    valueNull.fieldKind !== 'enum' ||
    !valueNull.enum.open ||
    valueNumber.fieldKind !== 'scalar' ||
    valueNumber.scalar !== ScalarType.DOUBLE ||
    valueString.fieldKind !== 'scalar' ||
    valueString.scalar !== ScalarType.STRING ||
    valueBool.fieldKind !== 'scalar' ||
    valueBool.scalar !== ScalarType.BOOL ||
    valueStruct.fieldKind !== 'message' ||
    valueStruct.message !== struct ||
    valueStruct.delimitedEncoding ||
    valueList.fieldKind !== 'message' ||
    valueList.message.typeName !== listValueTypeName ||
    valueList.delimitedEncoding
  ) {
    unsupported('unexpected google.protobuf.Value field types');
  }
  const listValues = only(valueList.message, 'values');
  if (listValues.fieldKind !== 'list' || listValues.listKind !== 'message' || listValues.message !== value || listValues.delimitedEncoding) {
    unsupported('unexpected google.protobuf.ListValue');
  }
  return {
    structFields: structFields.number,
    structKeyStrictUtf8: structFields.utf8Validation,
    valueNull: valueNull.number,
    valueNumber: valueNumber.number,
    valueString: valueString.number,
    valueStringStrictUtf8: valueString.utf8Validation,
    valueBool: valueBool.number,
    valueStruct: valueStruct.number,
    valueList: valueList.number,
    listValues: listValues.number,
  };
}

function only(desc: DescMessage, name: string): DescField {
  const field = desc.fields[0];
  if (desc.fields.length !== 1 || desc.oneofs.length !== 0 || field?.name !== name) unsupported(`unexpected ${desc.typeName}`);
  return field;
}

function findMessage(desc: DescMessage, typeName: string, seen: Set<DescMessage>): DescMessage | undefined {
  if (desc.typeName === typeName) return desc;
  if (seen.has(desc)) return undefined;
  seen.add(desc);
  for (const field of desc.fields) {
    if (field.message) {
      const found = findMessage(field.message, typeName, seen);
      if (found) return found;
    }
  }
  return undefined;
}
