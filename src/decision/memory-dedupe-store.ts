import type { DedupeRecord, DedupeStore } from './dedupe-store.js';
import { fingerprint, FingerprintTable } from './fingerprint-table.js';

export interface MemoryDedupeStoreOptions {
  /**
   * Callbacks remembered per generation (two are kept). Default 500,000: with the default TTL
   * that holds 4,000 callbacks/s, in 16 MB per generation; raise it for more.
   */
  maxEntries?: number;
  /** How long a decision is remembered, at least 60 s. Default 2 minutes (Stream retries within 15 s). */
  ttlMs?: number;
}

/** One generation: fingerprints → index into its own list of records. */
interface Generation {
  readonly table: FingerprintTable;
  /** Shared records once each; a record of its own (not frozen) per key, replaced when its key is set again. */
  readonly records: (DedupeRecord | undefined)[];
  /** Index of each shared (frozen) record in `records`, so one is listed once per generation. */
  readonly shared: Map<DedupeRecord, number>;
  readonly startedAt: number;
}

/**
 * In-process dedupe store, enough for one server instance. Decisions are kept in two
 * generations: new ones go to the current generation, which becomes the previous one when it is
 * `ttlMs` old or holds `maxEntries`; the previous one is then dropped whole. So a decision is
 * remembered for at least `ttlMs` unless more than `maxEntries` callbacks arrive within `ttlMs`
 * (the age is checked once a generation holds 255 keys, and every 256 after: a quiet generation
 * is kept longer, which is harmless). Keys are kept as 96-bit fingerprints (`fingerprint-table.ts`): no string
 * is retained per callback and nothing is traced by the garbage collector.
 */
export function createMemoryDedupeStore(options: MemoryDedupeStoreOptions = {}): DedupeStore {
  const ttl = options.ttlMs ?? 2 * 60_000;
  if (ttl < 60_000) throw new RangeError('pending-hooks: dedupe ttlMs must be at least 60000 (Stream retries within 15 s)');
  const maxEntries = options.maxEntries ?? 500_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('pending-hooks: dedupe maxEntries must be a positive integer');

  const generation = (): Generation => ({ table: new FingerprintTable(maxEntries), records: [], shared: new Map(), startedAt: performance.now() });
  // The first table is made now, not in the first callback's time budget; after close() on demand.
  let current: Generation | undefined = generation();
  let previous: Generation | undefined;

  function lookup(gen: Generation | undefined): DedupeRecord | undefined {
    if (gen === undefined) return undefined;
    const index = gen.table.find();
    return index === -1 ? undefined : gen.records[index];
  }

  function indexIn(gen: Generation, record: DedupeRecord): number {
    if (!Object.isFrozen(record)) return gen.records.push(record) - 1;
    let index = gen.shared.get(record);
    if (index === undefined) {
      index = gen.records.push(record) - 1;
      gen.shared.set(record, index);
    }
    return index;
  }

  function due(gen: Generation): boolean {
    const size = gen.table.size;
    return size >= maxEntries || ((size & 255) === 255 && performance.now() - gen.startedAt >= ttl);
  }

  return {
    get(key) {
      fingerprint(key);
      return lookup(current) ?? lookup(previous);
    },
    set(key, record) {
      if (current === undefined || due(current)) {
        previous = current;
        current = generation();
      }
      fingerprint(key);
      const known = current.table.find();
      if (known !== -1 && !Object.isFrozen(current.records[known])) {
        // The key's own record (a retry updating it): replaced, so updates never grow the list.
        if (!Object.isFrozen(record)) {
          current.records[known] = record;
          return;
        }
        current.records[known] = undefined;
      }
      current.table.put(indexIn(current, record));
    },
    close() {
      previous = undefined;
      current = undefined;
    },
  };
}
