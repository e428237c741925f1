/**
 * Returns true when the JSON text nests objects/arrays deeper than `maxDepth` (the outermost
 * value is depth 1). Run before `JSON.parse` so hostile nesting is refused cheaply and never
 * reaches a recursive consumer. Most of a message's bytes are inside strings, so strings are
 * skipped with the engine's native `indexOf` rather than byte by byte.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const c = bytes[i]!;
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: one not preceded by an odd number of backslashes.
      let end = i;
      for (;;) {
        end = bytes.indexOf(0x22, end + 1);
        if (end === -1) return false; // unterminated string: JSON.parse reports it
        let backslashes = 0;
        while (bytes[end - 1 - backslashes] === 0x5c /* \ */) backslashes++;
        if ((backslashes & 1) === 0) break;
      }
      i = end;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/**
 * The number of `{` and `[` characters in the text, counted up to `cap + 1` (so a result above
 * `cap` means "more than cap"). One native `indexOf` per bracket: no walk over the strings.
 */
function jsonBracketCount(text: string, cap: number): number {
  let brackets = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) {
    if (++brackets > cap) return brackets;
  }
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) {
    if (++brackets > cap) return brackets;
  }
  return brackets;
}

/**
 * The same answer as `jsonNestsDeeperThan`, cheaper for ordinary bodies: text with at most
 * `maxDepth` `{` and `[` characters in all cannot nest deeper. Only text with more brackets than
 * that (large or hostile bodies) gets the full scan.
 */
export function jsonTextNestsDeeperThan(text: string, bytes: Uint8Array, maxDepth: number): boolean {
  return jsonBracketCount(text, maxDepth) > maxDepth && jsonNestsDeeperThan(bytes, maxDepth);
}
