import type { ConversationTurn } from '../shared/ports';

/**
 * max_tokens of the next call. After an answer cut at max_tokens (a half-written tool call is
 * never executed: the stage runner tells the model so), the next call gets twice the output
 * budget, per consecutive cut, up to MAX_OUTPUT_TOKENS (what current Claude models accept).
 */

export const MAX_OUTPUT_TOKENS = 32_000;

export function maxTokensFor(base: number, history: readonly ConversationTurn[]): number {
  let cuts = 0;
  for (const turn of [...history].reverse()) {
    if (turn.role !== 'assistant') continue;
    if (turn.stopReason !== 'max_tokens') break;
    cuts += 1;
  }
  return Math.min(base * 2 ** Math.min(cuts, 8), Math.max(base, MAX_OUTPUT_TOKENS));
}
