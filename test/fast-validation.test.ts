import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { sampleMessage, samplePayload } from '../src/emulator/index.js';
import { compileFastCheck } from '../src/event/compile-validator.js';
import { pendingMessageBodySchema } from '../src/event/message-schema.js';
import { jsonNestsDeeperThan } from '../src/transports/json-depth.js';

/** A tiny deterministic PRNG so failures reproduce. */
function random(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const oddValues: unknown[] = ['', 'x', 0, 1.5, -1, true, false, null, undefined, [], [1], ['a'], {}, { id: 'u' }, { id: 5 }, [{ id: 'u' }], [{}], [null]];

/** Every path in a value, for mutation. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const out: string[][] = [prefix];
  for (const [key, child] of Object.entries(value)) out.push(...paths(child, [...prefix, key]));
  return out;
}

function mutate(root: unknown, path: string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy: Record<string, unknown> = Array.isArray(root) ? ([...root] as unknown as Record<string, unknown>) : { ...(root as Record<string, unknown>) };
  const [head, ...rest] = path;
  copy[head!] = mutate(copy[head!], rest, replacement);
  if (replacement === undefined && rest.length === 0) delete copy[head!];
  return copy;
}

describe('the compiled fast check accepts exactly what the zod schema accepts', () => {
  const check = compileFastCheck(pendingMessageBodySchema)!;

  it('compiles the body schema', () => {
    expect(check).toBeTypeOf('function');
  });

  it('agrees with zod on thousands of mutated realistic bodies', () => {
    const rand = random(7);
    let disagreements = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const body = JSON.parse(JSON.stringify(samplePayload(sampleMessage({}, i)))) as unknown;
      const all = paths(body);
      let mutated = body;
      const edits = 1 + Math.floor(rand() * 2);
      for (let e = 0; e < edits; e++) mutated = mutate(mutated, all[Math.floor(rand() * all.length)]!, oddValues[Math.floor(rand() * oddValues.length)]);
      const zodSays = pendingMessageBodySchema.safeParse(mutated).success;
      if (!zodSays) rejected++;
      if (check(mutated) !== zodSays) disagreements++;
    }
    expect(disagreements).toBe(0);
    expect(rejected).toBeGreaterThan(300); // the mutations do hit the schema's rules
  });

  it('leaves what it cannot compile to zod', () => {
    expect(compileFastCheck(z.object({ a: z.string() }))).toBeUndefined(); // strips unknown keys: output differs from input
    expect(compileFastCheck(z.looseObject({ a: z.string().email() }))).toBeUndefined();
    expect(compileFastCheck(z.looseObject({ a: z.number() }))).toBeUndefined();
  });
});

describe('jsonNestsDeeperThan', () => {
  const depthOf = (text: string) => {
    for (let d = 0; d < 200; d++) if (!jsonNestsDeeperThan(Buffer.from(text), d)) return d;
    return Infinity;
  };
  it('counts nesting outside strings only, with escapes', () => {
    expect(depthOf('1')).toBe(0);
    expect(depthOf('{}')).toBe(1);
    expect(depthOf('{"a":[{"b":[]}]}')).toBe(4);
    expect(depthOf('{"a":"[[[[{{{{"}')).toBe(1);
    expect(depthOf('{"a":"\\"[[[","b":[1]}')).toBe(2);
    expect(depthOf('{"a":"\\\\","b":[[1]]}')).toBe(3);
    expect(depthOf('{"a\\\\\\"[":[[1]]}')).toBe(3);
    expect(depthOf('["unterminated')).toBe(1);
  });
  it('agrees with a byte-by-byte reference on realistic bodies', () => {
    const reference = (bytes: Uint8Array) => {
      let depth = 0, max = 0, inString = false;
      for (let i = 0; i < bytes.length; i++) {
        const c = bytes[i]!;
        if (inString) {
          if (c === 0x5c) i++;
          else if (c === 0x22) inString = false;
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
        else if (c === 0x7d || c === 0x5d) depth--;
      }
      return max;
    };
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(JSON.stringify(samplePayload(sampleMessage({ text: `q"\\[${i}` }, i))));
      const max = reference(bytes);
      expect(jsonNestsDeeperThan(bytes, max)).toBe(false);
      expect(jsonNestsDeeperThan(bytes, max - 1)).toBe(true);
    }
  });
});
