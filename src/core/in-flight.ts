/** One piece of work in flight, as {@link InFlight.add} returns it (hand it back to `remove`). */
export interface InFlightEntry<V, T> {
  readonly key: string | undefined;
  readonly value: V;
  readonly tag: T;
}

class Entry<V, T> implements InFlightEntry<V, T> {
  constructor(
    readonly key: string | undefined,
    readonly hash: number,
    readonly value: V,
    readonly tag: T,
    /** Position in `InFlight.list`: it moves when another entry is removed. */
    public index: number,
  ) {}
}

const seed = (Math.random() * 0x1_0000_0000) >>> 0;

/** The last key hashed: a callback's `find` is followed by its `add`, and the key is not hashed again. */
let lastKey = '';
let lastHash = 0;

/** FNV-1a over UTF-16 code units with a per-process seed, finished by murmur3's mixer. */
function hashOf(key: string): number {
  if (key === lastKey) return lastHash;
  lastKey = key;
  let h = seed ^ key.length;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x0100_0193);
  h = Math.imul(h ^ (h >>> 16), 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2_ae35);
  lastHash = (h ^ (h >>> 16)) >>> 0;
  return lastHash;
}

/**
 * Work in flight, added and removed once per request: found by key (a concurrent duplicate joins
 * it) and listed whole (a graceful close waits for all of it). `value` is the work, `tag` what a
 * close needs besides (the request's scope).
 *
 * Not a `Map`, on purpose. When V8 rebuilds a `Map`'s hash table (it fills up with deleted
 * entries every few insertions here) it links the old table to the new one for live iterators.
 * Once a table of the chain sits in the old generation, it keeps its successor — and every key
 * and value it held — alive through each scavenge, so all of it is promoted; the chain never ends
 * while requests flow. Measured on the applied row (bench/RESULTS.md): in about half of the
 * processes, ~1.1 MB/s of garbage promoted and a mark-compact every 5–13 s, the p99 at 25% load
 * up to ~3 ms above the hand-written route. Here the slots are plain arrays, replaced only when
 * they grow: open addressing with linear probing, deletions shifting entries back (no tombstones).
 */
export class InFlight<V, T = undefined> {
  /** Keyed entries by `hash & mask`; undefined is an empty slot. Never more than half full. */
  private slots: (Entry<V, T> | undefined)[] = new Array<Entry<V, T> | undefined>(16).fill(undefined);
  private mask = 15;
  private keyed = 0;
  /** Every entry, keyed or not, in no particular order. */
  private readonly list: Entry<V, T>[] = [];

  /** How many pieces of work are in flight. */
  get size(): number {
    return this.list.length;
  }

  /** The latest work added under `key` and not removed yet. */
  find(key: string): V | undefined {
    const { slots, mask } = this;
    for (let slot = hashOf(key) & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot];
      if (entry === undefined) return undefined;
      if (entry.key === key) return entry.value;
    }
  }

  /**
   * Adds work, findable under `key` unless it is undefined. Work already under the same key
   * stays listed but is no longer found (as `Map.set` would replace it).
   */
  add(key: string | undefined, value: V, tag: T): InFlightEntry<V, T> {
    const entry = new Entry(key, key === undefined ? 0 : hashOf(key), value, tag, this.list.length);
    this.list.push(entry);
    if (key !== undefined) {
      if ((this.keyed + 1) * 2 > this.slots.length) this.grow();
      this.place(entry);
    }
    return entry;
  }

  /** Removes work added by `add` (a no-op the second time). */
  remove(handle: InFlightEntry<V, T>): void {
    const entry = handle as Entry<V, T>;
    const { list } = this;
    if (list[entry.index] !== entry) return;
    const last = list.pop()!;
    if (last !== entry) {
      list[entry.index] = last;
      last.index = entry.index;
    }
    if (entry.key !== undefined) this.unplace(entry);
  }

  /** The work in flight now, each once. */
  values(): V[] {
    return this.list.map((entry) => entry.value);
  }

  /** The tags of the work in flight now. */
  tags(): T[] {
    return this.list.map((entry) => entry.tag);
  }

  private place(entry: Entry<V, T>): void {
    const { slots, mask } = this;
    for (let slot = entry.hash & mask; ; slot = (slot + 1) & mask) {
      const there = slots[slot];
      if (there === undefined) {
        slots[slot] = entry;
        this.keyed++;
        return;
      }
      if (there.key === entry.key) {
        slots[slot] = entry;
        return;
      }
    }
  }

  private unplace(entry: Entry<V, T>): void {
    const { slots, mask } = this;
    let hole = entry.hash & mask;
    for (; ; hole = (hole + 1) & mask) {
      const there = slots[hole];
      // Not found: a later entry under the same key replaced it.
      if (there === undefined) return;
      if (there === entry) break;
    }
    this.keyed--;
    // Backward shift: an entry after the hole moves into it unless its home slot lies after the hole.
    for (let slot = (hole + 1) & mask; ; slot = (slot + 1) & mask) {
      const there = slots[slot];
      if (there === undefined) break;
      const home = there.hash & mask;
      if (((slot - home) & mask) >= ((slot - hole) & mask)) {
        slots[hole] = there;
        hole = slot;
      }
    }
    slots[hole] = undefined;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<Entry<V, T> | undefined>(old.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    this.keyed = 0;
    for (const entry of old) if (entry !== undefined) this.place(entry);
  }
}
