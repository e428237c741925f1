import { LRUCache } from 'lru-cache';
import type { DedupeRecord, DedupeStore } from './dedupe-store.js';

export interface MemoryDedupeStoreOptions {
  /** Most records kept; the least recently used go first. Default 100,000 (~20 MB). */
  maxEntries?: number;
  /** How long a decision is remembered. Default 5 minutes (Stream retries within 15 s). */
  ttlMs?: number;
}

/** In-process dedupe store: bounded LRU with a TTL. Enough for one server instance. */
export function createMemoryDedupeStore(options: MemoryDedupeStoreOptions = {}): DedupeStore {
  const ttl = options.ttlMs ?? 5 * 60_000;
  if (ttl < 60_000) throw new RangeError('pending-hooks: dedupe ttlMs must be at least 60000 (Stream retries within 15 s)');
  const cache = new LRUCache<string, DedupeRecord>({ max: options.maxEntries ?? 100_000, ttl, ttlAutopurge: false });
  return {
    get: (key) => cache.get(key),
    set: (key, record) => {
      cache.set(key, record);
    },
    close: () => cache.clear(),
  };
}
