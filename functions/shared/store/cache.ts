import { keys } from './keys';
import type { Table } from './table';

/** A short-lived cache (collaborator permissions, installation token metadata): strings by key. */
export interface CacheStore {
  cacheGet(key: string): Promise<string | undefined>;
  cachePut(key: string, value: string, ttlSeconds: number): Promise<void>;
}

export function dynamoCache(t: Table): CacheStore {
  return {
    /** GetItem CACHE#<key>/CACHE; an expired entry reads as absent. */
    async cacheGet(key) {
      const item = await t.get(keys.cache(key));
      if (!item || !t.isLive(item) || typeof item.value !== 'string') return undefined;
      return item.value;
    },

    /** PutItem CACHE#<key>/CACHE {value, expiresAt = now + ttlSeconds} (overwrites). */
    async cachePut(key, value, ttlSeconds) {
      await t.put({ ...keys.cache(key), value, expiresAt: t.expiry(ttlSeconds) });
    },
  };
}
