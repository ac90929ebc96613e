import * as z from 'zod';

/**
 * The turn budget of the agent stages (`limits.turns` in `.github/factory.yml`): how many model
 * turns (calls) plan, implement and review may each take. Kept apart from contract.ts so the run
 * contract can hold it without the YAML parser.
 */

export const AGENT_STAGES = ['plan', 'implement', 'review'] as const;
export type AgentStage = (typeof AGENT_STAGES)[number];

export const TURN_LIMITS = {
  plan: { min: 2, max: 100, default: 30 },
  implement: { min: 2, max: 100, default: 60 },
  review: { min: 2, max: 100, default: 20 },
} as const satisfies Record<AgentStage, { min: number; max: number; default: number }>;

/** The largest limit any stage may have; the state machine's fixed ceiling is derived from it. */
export const MAX_STAGE_TURNS = 100;

export const StageTurns = z.strictObject({
  plan: z.number().int().positive(),
  implement: z.number().int().positive(),
  review: z.number().int().positive(),
});
export type StageTurns = z.infer<typeof StageTurns>;

export const defaultTurns = (): StageTurns => ({
  plan: TURN_LIMITS.plan.default,
  implement: TURN_LIMITS.implement.default,
  review: TURN_LIMITS.review.default,
});

/** Model turns one copilot ask may take (functions/copilot/loop.ts, statemachines/ask.ts). */
export const MAX_ASK_TURNS = 6;

/** How long an ask's execution may take (statemachines/ask.ts); a PENDING ask older is dead. */
export const ASK_TIMEOUT_SECONDS = 3600;
