import type { CacheStore, LlmRateLimit, Log } from '../shared/ports';

/**
 * Per-model pacing of model calls, so a rate-limited model is used up to its limit without
 * being answered 429 (SPEC §4, docs/performance.md part 6).
 *
 * Each model has a "not before" time. It is kept in this container's memory and shared through
 * the store (`llm-not-before#<model>`) so other containers respect it too. It is set
 * - after a 429: to now + retry-after;
 * - after a success whose `anthropic-ratelimit-requests-remaining`, less the calls this container
 *   started after that request (the API had not counted them yet), leaves no request: to the
 *   window's reset time.
 * Before a call, a message whose model is not yet allowed is held (its visibility delayed) without
 * calling. Held messages are spread one request interval (60 s / limit) apart, so they come back
 * at about the rate the window frees slots instead of all at once.
 */

/** How long the shared not-before outlives its time (it is compared to the clock, not trusted to expire). */
const SHARED_TTL_EXTRA_SECONDS = 60;
/** After the window's reset one slot is free: while one call probes it, others wait this long. */
const PROBE_WAIT_MS = 1_000;
const WINDOW_MS = 60_000;

export const notBeforeKey = (model: string) => `llm-not-before#${model}`;

interface ModelState {
  notBefore: number;
  /** The newest window the API reported, and the sequence number of the call it answered. */
  window?: LlmRateLimit & { seq: number };
  /** Calls started on this model by this container (a sequence number). */
  started: number;
  /** The latest time a held message was told to come back (to spread them). */
  lastHeldUntil: number;
  /** The not-before last written to the store, to avoid rewriting it. */
  shared: number;
}

export class ModelPacer {
  private readonly models = new Map<string, ModelState>();

  private state(model: string): ModelState {
    let state = this.models.get(model);
    if (!state) {
      state = { notBefore: 0, started: 0, lastHeldUntil: 0, shared: 0 };
      this.models.set(model, state);
    }
    return state;
  }

  /**
   * Whether this message may call `model` now. Admitted: the call is counted as started (before
   * any await, so concurrent messages see it) and `seq` goes to `afterCall`. Otherwise: how many
   * milliseconds to hold the message.
   */
  async admit(store: CacheStore, model: string, now: number): Promise<{ seq: number } | { waitMs: number }> {
    const s = this.state(model);
    if (now >= s.notBefore) {
      const shared = Number((await store.cacheGet(notBeforeKey(model))) ?? '0');
      if (Number.isFinite(shared) && shared > s.notBefore) s.notBefore = shared;
    }
    if (now < s.notBefore) return { waitMs: this.hold(s, now) };
    // A window a full minute past its reset has been replenished whatever the API's algorithm.
    if (s.window && now >= s.window.resetAt + WINDOW_MS) s.window = undefined;
    const w = s.window;
    if (w) {
      const freedSinceReset = now >= w.resetAt ? 1 : 0;
      const left = w.remaining + freedSinceReset - (s.started - w.seq);
      if (left <= 0) {
        s.notBefore = now < w.resetAt ? w.resetAt : now + PROBE_WAIT_MS;
        return { waitMs: this.hold(s, now) };
      }
    }
    s.started += 1;
    return { seq: s.started };
  }

  private hold(s: ModelState, now: number): number {
    const interval = s.window?.limit ? WINDOW_MS / s.window.limit : 0;
    const until = Math.max(s.notBefore, s.lastHeldUntil + interval);
    s.lastHeldUntil = until;
    return Math.max(until - now, 1);
  }

  /**
   * Learns from a call's outcome: its rate-limit window (success or 429) and, for a 429, its
   * retry-after. Sharing through the store is best effort: a failed write never fails the turn.
   */
  async afterCall(
    deps: { store: CacheStore; log: Log },
    model: string,
    seq: number,
    now: number,
    outcome: { rateLimit?: LlmRateLimit; retryAfterSeconds?: number },
  ): Promise<void> {
    const s = this.state(model);
    const { rateLimit, retryAfterSeconds } = outcome;
    if (rateLimit && (!s.window || seq >= s.window.seq)) s.window = { ...rateLimit, seq };
    let notBefore = 0;
    if (retryAfterSeconds !== undefined) notBefore = now + retryAfterSeconds * 1000;
    const w = s.window;
    if (w && w.resetAt > now && w.remaining - (s.started - w.seq) <= 0)
      notBefore = Math.max(notBefore, w.resetAt);
    if (notBefore <= s.notBefore) return;
    s.notBefore = notBefore;
    if (notBefore <= s.shared) return;
    s.shared = notBefore;
    const ttl = Math.ceil((notBefore - now) / 1000) + SHARED_TTL_EXTRA_SECONDS;
    await deps.store.cachePut(notBeforeKey(model), String(notBefore), ttl).catch((error: unknown) => {
      deps.log.warn('could not share the model pacing time', {
        model,
        error: error instanceof Error ? error.name : 'unknown',
      });
    });
  }
}
