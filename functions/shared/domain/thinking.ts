import * as z from 'zod';

/**
 * Extended thinking per agent stage: a token budget the model may think in before it answers
 * (`thinking: {type: "enabled", budget_tokens}`), counted within the call's max_tokens. The
 * deployment sets a budget per stage and the most any repository may ask for (MODEL_CONFIG
 * `thinking`); a repository may set its own in `.github/factory.yml` (`thinking`), capped there.
 * 0 or absent: no thinking. Where it helps most: plan and review.
 */

export const THINKING_STAGES = ['plan', 'implement', 'review'] as const;
export type ThinkingStage = (typeof THINKING_STAGES)[number];

/** The API's smallest budget. */
export const MIN_THINKING_BUDGET = 1024;
/** The largest budget a config may write (the current models' output ceiling). */
export const MAX_THINKING_BUDGET = 64_000;
/** What a repository may ask for when the deployment does not say. */
export const DEFAULT_MAX_THINKING_BUDGET = 16_000;

export const ThinkingBudget = z
  .number({ error: 'must be a number of tokens' })
  .int({ error: 'must be a whole number of tokens' })
  .refine((n) => n === 0 || (n >= MIN_THINKING_BUDGET && n <= MAX_THINKING_BUDGET), {
    error: `must be 0 (off) or from ${MIN_THINKING_BUDGET} to ${MAX_THINKING_BUDGET} tokens`,
  });

export const ThinkingBudgets = z.strictObject({
  plan: ThinkingBudget.optional(),
  implement: ThinkingBudget.optional(),
  review: ThinkingBudget.optional(),
});
export type ThinkingBudgets = z.infer<typeof ThinkingBudgets>;

/**
 * The budgets a run uses: the repository's over the deployment's, each within the operator's cap
 * (`maxBudgetTokens`; a cap under the API's minimum turns thinking off). Only stages that think
 * are listed.
 */
export function resolveThinking(
  repo: ThinkingBudgets,
  deployment: ThinkingBudgets,
  maxBudgetTokens: number,
): ThinkingBudgets {
  const out: ThinkingBudgets = {};
  for (const stage of THINKING_STAGES) {
    const asked = repo[stage] ?? deployment[stage] ?? 0;
    const budget = Math.min(asked, maxBudgetTokens);
    if (budget >= MIN_THINKING_BUDGET) out[stage] = budget;
  }
  return out;
}
