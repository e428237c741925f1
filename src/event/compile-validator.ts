import type { z } from 'zod';

/** True when a value is accepted by the schema it was compiled from. */
export type FastCheck = (value: unknown) => boolean;

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  catchall?: { _zod: { def: Def } };
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  keyType?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
  checks?: { _zod: { def: { check: string; minimum?: number } } }[];
}

/**
 * Compiles the subset of zod our body schemas use (loose objects, strings with a minimum length,
 * booleans, arrays, string records, optional/nullable, unknown) into one straight-line JavaScript
 * function that accepts exactly what `schema.safeParse` accepts, without building zod's output
 * copy (what fast-json-stringify and ajv do for their schemas): one call, no closures per field,
 * well under a microsecond for a message. The schema stays the one source of truth: anything
 * outside the subset compiles to `undefined`, and callers then use zod itself.
 */
export function compileFastCheck(schema: z.ZodType): FastCheck | undefined {
  const lines: string[] = [];
  let next = 0;
  const fresh = (prefix: string) => `${prefix}${next++}`;

  const isObject = (v: string) => `typeof ${v} !== 'object' || ${v} === null || Array.isArray(${v})`;

  /** Appends statements that `return false` when `v` does not match; false when `def` is outside the subset. */
  function emit(def: Def, v: string): boolean {
    switch (def.type) {
      case 'unknown':
        return true;
      case 'boolean':
        lines.push(`if (typeof ${v} !== 'boolean') return false;`);
        return true;
      case 'string': {
        let min = 0;
        for (const check of def.checks ?? []) {
          if (check._zod.def.check !== 'min_length') return false;
          min = Math.max(min, check._zod.def.minimum ?? 0);
        }
        lines.push(min === 0 ? `if (typeof ${v} !== 'string') return false;` : `if (typeof ${v} !== 'string' || ${v}.length < ${min}) return false;`);
        return true;
      }
      case 'optional':
      case 'nullable': {
        if (!def.innerType) return false;
        lines.push(`if (${v} !== ${def.type === 'optional' ? 'undefined' : 'null'}) {`);
        const ok = emit(def.innerType._zod.def, v);
        lines.push('}');
        return ok;
      }
      case 'array': {
        if (def.checks?.length || !def.element) return false;
        const i = fresh('i');
        const e = fresh('e');
        lines.push(`if (!Array.isArray(${v})) return false;`, `for (let ${i} = 0; ${i} < ${v}.length; ${i}++) {`, `const ${e} = ${v}[${i}];`);
        const ok = emit(def.element._zod.def, e);
        lines.push('}');
        return ok;
      }
      case 'record': {
        if (def.keyType?._zod.def.type !== 'string' || def.keyType._zod.def.checks?.length || !def.valueType) return false;
        const k = fresh('k');
        const e = fresh('e');
        lines.push(`if (${isObject(v)}) return false;`, `for (const ${k} in ${v}) {`, `if (!Object.hasOwn(${v}, ${k})) continue;`, `const ${e} = ${v}[${k}];`);
        const ok = emit(def.valueType._zod.def, e);
        lines.push('}');
        return ok;
      }
      case 'object': {
        // Only loose objects: their output equals their input, so the input can be used as is.
        if (def.catchall?._zod.def.type !== 'unknown' || !def.shape) return false;
        lines.push(`if (${isObject(v)}) return false;`);
        for (const [key, field] of Object.entries(def.shape)) {
          const f = fresh('f');
          lines.push(`const ${f} = ${v}[${JSON.stringify(key)}];`);
          if (!emit(field._zod.def, f)) return false;
        }
        return true;
      }
      default:
        return false;
    }
  }

  if (!emit((schema as unknown as { _zod: { def: Def } })._zod.def, 'value')) return undefined;
  lines.push('return true;');
  // The source is built only from the schema's field names (JSON-quoted) and fixed templates.
  try {
    return new Function('value', lines.join('\n')) as FastCheck;
  } catch {
    return undefined; // code generation disallowed (--disallow-code-generation-from-strings): zod validates
  }
}
