import { LRUCache } from 'lru-cache';
import type { DedupeRecord, DedupeStore } from './dedupe-store.js';

export interface MemoryDedupeStoreOptions {
  /**
   * Most records kept; the least recently used go first. Default 500,000 (~100 MB when full):
   * with the default TTL that holds 4,000 callbacks/s; raise it for more.
   */
  maxEntries?: number;
  /** How long a decision is remembered, at least 60 s. Default 2 minutes (Stream retries within 15 s). */
  ttlMs?: number;
}

/** In-process dedupe store: bounded LRU with a TTL. Enough for one server instance. */
export function createMemoryDedupeStore(options: MemoryDedupeStoreOptions = {}): DedupeStore {
  const ttl = options.ttlMs ?? 2 * 60_000;
  if (ttl < 60_000) throw new RangeError('pending-hooks: dedupe ttlMs must be at least 60000 (Stream retries within 15 s)');
  const cache = new LRUCache<string, DedupeRecord>({ max: options.maxEntries ?? 500_000, ttl, ttlAutopurge: false });
  return {
    get: (key) => cache.get(key),
    set: (key, record) => {
      cache.set(key, record);
    },
    close: () => cache.clear(),
  };
}
