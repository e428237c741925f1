import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DedupeRecord } from '../src/decision/dedupe-store.js';
import { fingerprint, FingerprintTable } from '../src/decision/fingerprint-table.js';
import { createMemoryDedupeStore } from '../src/index.js';

const commit: DedupeRecord = Object.freeze({ outcome: Object.freeze({ action: 'commit', timedOut: false }), applied: true });
const remove: DedupeRecord = Object.freeze({ outcome: Object.freeze({ action: 'delete', reason: 'spam', timedOut: false }), applied: true });
const notApplied = (): DedupeRecord => ({ outcome: { action: 'commit', timedOut: false }, applied: false });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('memory dedupe store', () => {
  it('answers what was set for a key, and nothing for keys never set', () => {
    const store = createMemoryDedupeStore();
    store.set('key\nwebhook-1', commit);
    store.set('key\nwebhook-2', remove);
    expect(store.get('key\nwebhook-1')).toBe(commit);
    expect(store.get('key\nwebhook-2')).toBe(remove);
    expect(store.get('key\nwebhook-3')).toBeUndefined();
    expect(store.get('other\nwebhook-1')).toBeUndefined();
    expect(store.get('')).toBeUndefined();
  });

  it('a later set replaces the record (a decision applied on a retry)', () => {
    const store = createMemoryDedupeStore();
    const pending = notApplied();
    store.set('w', pending);
    expect(store.get('w')).toBe(pending);
    store.set('w', commit);
    expect(store.get('w')).toBe(commit);
  });

  it('keeps records that are not shared apart (each its own object)', () => {
    const store = createMemoryDedupeStore();
    const records = Array.from({ length: 100 }, notApplied);
    records.forEach((record, i) => store.set(`w-${i}`, record));
    records.forEach((record, i) => expect(store.get(`w-${i}`)).toBe(record));
  });

  it('tells apart 200,000 keys that differ in one character, in length, or only in unicode', () => {
    const store = createMemoryDedupeStore({ maxEntries: 300_000 });
    const keys: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      keys.push(`bench-key\n${crypto.randomUUID()}`, `w-${i}`, `w-${i}\u0000`, `ü-${i}-🙂`);
    }
    for (const key of keys) {
      // A key seen before being set would be a false duplicate: a callback answered with another's decision.
      expect(store.get(key)).toBeUndefined();
      store.set(key, commit);
    }
    for (const key of keys) expect(store.get(key)).toBe(commit);
    expect(store.get('w-50000')).toBeUndefined();
  });

  it('a full generation becomes the previous one: its records stay one more generation, then go', () => {
    const store = createMemoryDedupeStore({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) store.set(key, commit);
    store.set('d', remove); // generation 1 full: a, b, c move to the previous generation
    expect(['a', 'b', 'c', 'd'].map((key) => store.get(key))).toEqual([commit, commit, commit, remove]);
    for (const key of ['e', 'f']) store.set(key, commit);
    store.set('g', commit); // generation 2 (d, e, f) full: generation 1 is dropped
    expect(['a', 'b', 'c'].map((key) => store.get(key))).toEqual([undefined, undefined, undefined]);
    expect(['d', 'e', 'f', 'g'].map((key) => store.get(key))).toEqual([remove, commit, commit, commit]);
  });

  it('a generation older than ttlMs is rotated: records live at least ttlMs, at most about twice that', () => {
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const store = createMemoryDedupeStore({ ttlMs: 60_000 });
    store.set('early', commit);
    // The clock is read every 256 decisions.
    const fill = (prefix: string) => {
      for (let i = 0; i < 256; i++) store.set(`${prefix}-${i}`, commit);
    };
    now += 59_000;
    fill('before-ttl');
    expect(store.get('early')).toBe(commit);
    now += 2_000; // generation 1 is 61 s old
    fill('after-ttl'); // → previous generation
    expect(store.get('early')).toBe(commit);
    now += 61_000;
    fill('later'); // generation 2 is older than ttlMs too: generation 1 is dropped
    expect(store.get('early')).toBeUndefined();
    expect(store.get('after-ttl-255')).toBe(commit);
  });

  it('two stores used in turn keep their own keys (the fingerprint of the last key is shared state)', () => {
    const a = createMemoryDedupeStore();
    const b = createMemoryDedupeStore();
    expect(a.get('x')).toBeUndefined();
    expect(b.get('y')).toBeUndefined();
    a.set('x', commit);
    b.set('y', remove);
    expect([a.get('x'), a.get('y'), b.get('y'), b.get('x')]).toEqual([commit, undefined, remove, undefined]);
  });

  it('setting a key again replaces its own record (retries never grow memory), shared records stay shared', async () => {
    const store = createMemoryDedupeStore({ maxEntries: 10 });
    const firstGone = (() => {
      const first = notApplied();
      store.set('w', first);
      return new WeakRef(first);
    })();
    for (let i = 0; i < 1000; i++) store.set('w', notApplied());
    const last = notApplied();
    store.set('w', last);
    expect(store.get('w')).toBe(last);
    store.set('other', commit);
    store.set('w', commit); // its own record → the shared one
    expect([store.get('w'), store.get('other')]).toEqual([commit, commit]);
    store.set('w', last); // and back
    expect([store.get('w'), store.get('other')]).toEqual([last, commit]);
    // The first record is no longer referenced by the store.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(firstGone.deref()).toBeUndefined();
  });

  it('close() forgets everything; the store still works after', () => {
    const store = createMemoryDedupeStore();
    store.set('w', commit);
    void store.close?.();
    expect(store.get('w')).toBeUndefined();
    store.set('w', remove);
    expect(store.get('w')).toBe(remove);
  });

  it('refuses a TTL under 60 s and a size that is not a positive integer', () => {
    expect(() => createMemoryDedupeStore({ ttlMs: 59_999 })).toThrow(/ttlMs must be at least 60000/);
    expect(() => createMemoryDedupeStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createMemoryDedupeStore({ maxEntries: 1.5 })).toThrow(/maxEntries/);
  });
});

describe('fingerprint table', () => {
  it('refuses new keys once it holds its capacity, still updates the ones it has', () => {
    const table = new FingerprintTable(2);
    fingerprint('a');
    expect(table.put(1)).toBe(true);
    fingerprint('b');
    expect(table.put(2)).toBe(true);
    fingerprint('c');
    expect(table.put(3)).toBe(false);
    expect(table.find()).toBe(-1);
    fingerprint('a');
    expect(table.put(7)).toBe(true);
    expect(table.find()).toBe(7);
    expect(table.size).toBe(2);
  });

  it('finds keys past collisions of the slot index (linear probing, wrap-around)', () => {
    // 16 slots: 12 keys fill most of them, so probes collide and wrap.
    const table = new FingerprintTable(12);
    for (let i = 0; i < 12; i++) {
      fingerprint(`key-${i}`);
      expect(table.put(i)).toBe(true);
    }
    for (let i = 0; i < 12; i++) {
      fingerprint(`key-${i}`);
      expect(table.find()).toBe(i);
    }
    fingerprint('key-12');
    expect(table.find()).toBe(-1);
  });
});
