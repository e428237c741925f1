import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonLineBytes } from '../src/observe/json-line-bytes.js';

type Field = ['string', string, string] | ['number', string, number] | ['boolean', string, boolean];

const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,15}$/);
const numbers = fc.oneof(
  fc.double(),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.integer({ min: -1e7, max: 1e7 }).map((n) => n / 100),
  fc.integer({ min: 0, max: 1e6 }).map((n) => Math.round((n / 1000) * 100) / 100),
  fc.constantFrom(0, -0, 0.1 + 0.2, 1e15, 1e21, 9.995, 1e-7, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY),
);
const field: fc.Arbitrary<Field> = fc.oneof(
  fc.tuple(fc.constant('string' as const), key, fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.stringMatching(/^[ -~]*$/))),
  fc.tuple(fc.constant('number' as const), key, numbers),
  fc.tuple(fc.constant('boolean' as const), key, fc.boolean()),
);

/** What JSON.stringify writes for the same fields. */
function expected(fields: Field[]): string {
  return fields.map(([, name, value]) => `,${JSON.stringify(name)}:${JSON.stringify(value)}`).join('');
}

function written(out: JsonLineBytes, fields: Field[]): string {
  for (const [kind, name, value] of fields) {
    if (kind === 'string') out.string(name, value);
    else if (kind === 'number') out.number(name, value);
    else out.boolean(name, value);
  }
  return out.view().toString('utf8');
}

describe('JsonLineBytes', () => {
  it('writes every field exactly as JSON.stringify spells it, as UTF-8', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 20 }), (fields) => {
        const out = new JsonLineBytes(16); // tiny: every line grows the buffer
        expect(written(out, fields)).toBe(expected(fields));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps what was written when the buffer grows and starts over on clear', () => {
    const out = new JsonLineBytes(8);
    out.text('{"a":"\u00e9"');
    out.string('b', 'x'.repeat(1000));
    out.number('c', 12.5);
    out.ascii('}\n');
    expect(JSON.parse(out.view().toString('utf8'))).toEqual({ a: '\u00e9', b: 'x'.repeat(1000), c: 12.5 });
    const before = out.view();
    out.clear();
    expect(out.length).toBe(0);
    expect(before.toString('utf8')).toContain('"c":12.5'); // a view taken before clear stays valid
    out.boolean('d', false);
    expect(out.view().toString('utf8')).toBe(',"d":false');
  });

  it('writes hundredths and integers as the shortest decimal, like String(number)', () => {
    for (let h = -100_000; h <= 100_000; h += 7) {
      const value = h / 100;
      const out = new JsonLineBytes();
      out.numberValue(value);
      expect(out.view().toString('latin1')).toBe(JSON.stringify(value));
    }
  });
});
