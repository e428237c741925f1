/**
 * A hash table from strings to small integers that keeps a 96-bit fingerprint of each key, not
 * the key: 16 bytes per slot in one typed array, nothing for the garbage collector to trace and
 * one cache line per lookup. Built for the dedupe store, where a `Map` of every webhook id seen in
 * the last minutes costs ~4 µs per callback under load (hash-table cache misses, keys promoted to
 * the old generation) against ~0.2 µs here.
 *
 * Two different keys are confused only if all 96 bits agree: with a million keys remembered, about
 * one chance in 10^22 per lookup. The seeds are random per process, so the fingerprints cannot be
 * precomputed from outside (only signed callbacks reach the dedupe store anyway).
 *
 * Slots are never deleted; a table is dropped whole (see the memory dedupe store's generations).
 */
export class FingerprintTable {
  /** Per slot: fingerprint words a, b, c (c is never 0 in a used slot) and the value. */
  private readonly words: Uint32Array;
  private readonly mask: number;
  /** Keys stored. */
  size = 0;

  /** Room for `capacity` keys at a load factor of at most 3/4. */
  constructor(readonly capacity: number) {
    let slots = 16;
    while (slots * 3 < capacity * 4) slots *= 2;
    this.mask = slots - 1;
    this.words = new Uint32Array(slots * 4);
  }

  /** The value stored for the key last fingerprinted (`fingerprint`), or -1. */
  find(): number {
    const { words, mask } = this;
    for (let slot = fa & mask; ; slot = (slot + 1) & mask) {
      const at = slot * 4;
      const c = words[at + 2]!;
      if (c === 0) return -1;
      if (c === fc && words[at] === fa && words[at + 1] === fb) return words[at + 3]!;
    }
  }

  /** Stores a value for the key last fingerprinted; false when the table is full (nothing stored). */
  put(value: number): boolean {
    const { words, mask } = this;
    for (let slot = fa & mask; ; slot = (slot + 1) & mask) {
      const at = slot * 4;
      const c = words[at + 2]!;
      if (c === 0) {
        if (this.size >= this.capacity) return false;
        words[at] = fa;
        words[at + 1] = fb;
        words[at + 2] = fc;
        words[at + 3] = value;
        this.size++;
        return true;
      }
      if (c === fc && words[at] === fa && words[at + 1] === fb) {
        words[at + 3] = value;
        return true;
      }
    }
  }
}

// The fingerprint of the last key, in module state so that hashing allocates nothing.
let fa = 0;
let fb = 0;
let fc = 1;
/** The key fa, fb, fc belong to: a callback's set follows its get, and is not hashed again. */
let fingerprinted: string | undefined;

const randomSeed = () => (Math.random() * 0x1_0000_0000) >>> 0;
const seedA = randomSeed();
const seedB = randomSeed();
const seedC = randomSeed();

/** murmur3's finalizer: every input bit affects every output bit. */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Fingerprints a key for the next `find` / `put`: three 32-bit lanes over the UTF-16 code units
 * two at a time, each a murmur3-style round with its own seed and constants.
 */
export function fingerprint(key: string): void {
  if (key === fingerprinted) return;
  fingerprinted = key;
  let a = seedA;
  let b = seedB;
  let c = seedC;
  const length = key.length;
  for (let i = 0; i < length; i += 2) {
    const block = key.charCodeAt(i) | ((i + 1 < length ? key.charCodeAt(i + 1) : 0) << 16);
    let k = Math.imul(block, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
    k = Math.imul(block, 0x85ebca77);
    k = Math.imul((k << 13) | (k >>> 19), 0xc2b2ae3d);
    b ^= k;
    b = (Math.imul((b << 17) | (b >>> 15), 9) + 0x27d4eb2f) | 0;
    c = Math.imul(c ^ block, 0x01000193);
    c ^= c >>> 15;
  }
  fa = fmix(a ^ length);
  fb = fmix(b ^ Math.imul(length, 0x9e3779b1));
  fc = (fmix(c + length) | 1) >>> 0; // 0 marks an empty slot
}
