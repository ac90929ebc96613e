import type { Clock } from '../shared/ports';

const MEMO_MS = 60_000;
const MAX_ENTRIES = 10_000;

/**
 * A warm container's short memory of slow answers (a sender's permission, a repo's trigger
 * label): each is trusted for a minute, so a burst of deliveries costs one lookup.
 */
export type Memo = (key: string, load: () => Promise<string>) => Promise<string>;

export function createMemo(clock: Clock): Memo {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  return async (key, load) => {
    const now = clock.now();
    const hit = entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = await load();
    if (entries.size > MAX_ENTRIES) entries.clear(); // bounded: a warm container never grows without limit
    entries.set(key, { value, expiresAt: now + MEMO_MS });
    return value;
  };
}
