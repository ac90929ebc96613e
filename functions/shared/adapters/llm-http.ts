import type { LlmRequest } from '../ports';

/** What every model adapter shares, free of any provider's SDK (each is loaded only where used). */

export const DEFAULT_RETRY_AFTER_SECONDS = 10;
const MAX_RETRY_AFTER_SECONDS = 3600;

/** Conservative local estimate (about 3 characters per token) when count_tokens is unavailable. */
export function estimateInputTokens(request: LlmRequest): number {
  const chars =
    request.system.length + JSON.stringify(request.tools).length + JSON.stringify(request.messages).length;
  return Math.ceil(chars / 3);
}

export const headerOf = (headers: unknown, name: string): string | undefined =>
  (headers as Partial<Headers> | undefined)?.get?.(name) ?? undefined;

/** Seconds to wait from the response headers, or undefined when they say nothing usable. */
export function retryAfterSeconds(headers: unknown, now = Date.now()): number | undefined {
  const clamp = (s: number) => Math.min(Math.max(s, 0), MAX_RETRY_AFTER_SECONDS);
  const ms = Number(headerOf(headers, 'retry-after-ms'));
  if (headerOf(headers, 'retry-after-ms') && Number.isFinite(ms)) return clamp(Math.ceil(ms / 1000));
  const value = headerOf(headers, 'retry-after');
  if (value) {
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return clamp(seconds);
    const date = Date.parse(value);
    if (Number.isFinite(date)) return clamp(Math.ceil((date - now) / 1000));
  }
  const reset = headerOf(headers, 'anthropic-ratelimit-requests-reset');
  if (reset && Number.isFinite(Date.parse(reset))) return clamp(Math.ceil((Date.parse(reset) - now) / 1000));
  return undefined;
}
