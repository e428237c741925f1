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
  readonly records: DedupeRecord[];
  /** Index of each shared (frozen) record in `records`, so one is listed once per generation. */
  readonly shared: Map<DedupeRecord, number>;
  readonly startedAt: number;
}

/**
 * In-process dedupe store, enough for one server instance. Decisions are kept in two
 * generations: new ones go to the current generation, which becomes the previous one when it is
 * `ttlMs` old or holds `maxEntries`; the previous one is then dropped whole. So a decision is
 * remembered for at least `ttlMs` (at most twice that) unless more than `maxEntries` callbacks
 * arrive within `ttlMs`. Keys are kept as 96-bit fingerprints (`fingerprint-table.ts`): no string
 * is retained per callback and nothing is traced by the garbage collector.
 */
export function createMemoryDedupeStore(options: MemoryDedupeStoreOptions = {}): DedupeStore {
  const ttl = options.ttlMs ?? 2 * 60_000;
  if (ttl < 60_000) throw new RangeError('pending-hooks: dedupe ttlMs must be at least 60000 (Stream retries within 15 s)');
  const maxEntries = options.maxEntries ?? 500_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('pending-hooks: dedupe maxEntries must be a positive integer');

  const generation = (): Generation => ({ table: new FingerprintTable(maxEntries), records: [], shared: new Map(), startedAt: performance.now() });
  let current = generation();
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

  return {
    get(key) {
      fingerprint(key);
      return lookup(current) ?? lookup(previous);
    },
    set(key, record) {
      const size = current.table.size;
      // The clock is read every 256 decisions: a quiet generation may outlive ttlMs (remembering longer is harmless).
      if (size >= maxEntries || ((size & 255) === 255 && performance.now() - current.startedAt >= ttl)) {
        previous = current;
        current = generation();
      }
      fingerprint(key);
      current.table.put(indexIn(current, record));
    },
    close() {
      previous = undefined;
      current = generation();
    },
  };
}
