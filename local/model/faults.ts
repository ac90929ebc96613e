/**
 * Programmable faults for the model stand-in: a FIFO consumed by the next `POST /v1/messages`
 * calls (count_tokens is never faulted, so a fault always hits a billable call), and a rolling
 * one-minute request limiter.
 *
 * Fault kinds and what the client sees:
 * - `429`: rate_limit_error with a `retry-after` header (seconds; default 1, configurable);
 * - `spend-limit`: a 429 for an exhausted spend limit, shaped like the real API's: error type
 *   `rate_limit_error`, `details.error_code: 'enforced_spend_limit_reached'` (which the SDK turns
 *   into `EnforcedSpendLimitReachedError`) and a message naming the usage limit and billing; no
 *   `retry-after`, since waiting does not help;
 * - `529`: overloaded_error; `500`: api_error;
 * - `reset`: the socket is destroyed after the request body was read, before any response byte.
 */

export type FaultKind = '429' | '529' | '500' | 'reset' | 'spend-limit';

/** The wire formats the stand-in speaks: a fault may be meant for one of them only. */
export type ModelApi = 'anthropic' | 'bedrock' | 'openai';

export interface Fault {
  kind: FaultKind;
  /** For `429`: the `retry-after` header in seconds (Bedrock's throttling never sends one). */
  retryAfterSeconds?: number;
  /** Only calls in this wire format take the fault (default: any). */
  api?: ModelApi;
}

const KINDS: readonly FaultKind[] = ['429', '529', '500', 'reset', 'spend-limit'];
const MAX_QUEUED = 1_000;
const APIS: readonly ModelApi[] = ['anthropic', 'bedrock', 'openai'];

export const isFaultKind = (value: string): value is FaultKind =>
  (KINDS as readonly string[]).includes(value);

/**
 * `'429,529,500,reset'` → faults in order. `429:7` sets a 7 s retry-after; `429@bedrock` is taken
 * only by a call in that wire format (anthropic, bedrock, openai). Throws on unknown kinds.
 */
export function parseFaultList(list: string): Fault[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
    .map((item) => {
      const [spec = '', api] = item.split('@');
      if (api !== undefined && !(APIS as readonly string[]).includes(api))
        throw new Error(`unknown wire format in model fault "${item}" (known: ${APIS.join(', ')})`);
      const only = api === undefined ? {} : { api: api as ModelApi };
      const [kind = '', seconds] = spec.split(':');
      if (!isFaultKind(kind)) throw new Error(`unknown model fault "${item}" (known: ${KINDS.join(', ')})`);
      if (seconds === undefined) return { kind, ...only };
      const retryAfterSeconds = Number(seconds);
      if (kind !== '429' || !Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0) {
        throw new Error(`invalid model fault "${item}": only 429 takes a retry-after in seconds`);
      }
      return { kind, retryAfterSeconds, ...only };
    });
}

export class FaultQueue {
  private readonly queue: Fault[] = [];

  /** Queue faults (kinds or full specs) for the next calls, in order. */
  push(...faults: Array<Fault | FaultKind>): void {
    for (const fault of faults) {
      if (this.queue.length >= MAX_QUEUED) throw new Error(`at most ${MAX_QUEUED} queued faults`);
      this.queue.push(typeof fault === 'string' ? { kind: fault } : { ...fault });
    }
  }

  /** The next fault for a call in `api` (one without an `api` fits any), removed from the queue. */
  take(api?: ModelApi): Fault | undefined {
    const index = this.queue.findIndex((f) => f.api === undefined || api === undefined || f.api === api);
    return index < 0 ? undefined : this.queue.splice(index, 1)[0];
  }

  pending(): Fault[] {
    return this.queue.map((f) => ({ ...f }));
  }

  get size(): number {
    return this.queue.length;
  }

  clear(): void {
    this.queue.length = 0;
  }
}

/**
 * At most `limit` accepted requests in any rolling 60 s window. A refused request is told, in
 * `retryAfterSeconds`, exactly when the oldest request in the window leaves it.
 */
export class RollingRateLimiter {
  private readonly accepted: number[] = [];

  constructor(
    readonly limit: number,
    private readonly now: () => number,
    private readonly windowMs = 60_000,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error('rateLimitPerMinute must be a positive integer');
  }

  /** Accepts (and records) the request, or returns the seconds until one would be accepted. */
  tryAcquire():
    | { ok: true; remaining: number; resetAt: number }
    | { ok: false; retryAfterSeconds: number; resetAt: number } {
    const now = this.now();
    while (this.accepted.length > 0 && (this.accepted[0] ?? 0) <= now - this.windowMs) this.accepted.shift();
    if (this.accepted.length < this.limit) {
      this.accepted.push(now);
      return {
        ok: true,
        remaining: this.limit - this.accepted.length,
        resetAt: (this.accepted[0] ?? now) + this.windowMs,
      };
    }
    const resetAt = (this.accepted[0] ?? now) + this.windowMs;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((resetAt - now) / 1000)), resetAt };
  }

  reset(): void {
    this.accepted.length = 0;
  }
}
