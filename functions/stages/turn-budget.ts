/**
 * The turn budget of an agent stage (`limits.turns` of the run contract). A turn is one model
 * call: assistant turns are the odd conversation turns, so assistant turn `t` is call `(t + 1) / 2`.
 * The model is told how many are left in every tool-result turn; when none is left and the stage
 * has not ended, the Tools step answers `exhausted` and the run stops with its work kept.
 */

export interface TurnBudget {
  used: number;
  limit: number;
  left: number;
}

export function turnBudgetAt(assistantTurn: number, limit: number): TurnBudget {
  const used = Math.ceil(assistantTurn / 2);
  return { used, limit, left: Math.max(0, limit - used) };
}

/** The line the first user turn ends with. */
export const turnAllowance = (limit: number, terminalTool: string): string =>
  `You have ${limit} turns (model calls) for this stage; every tool result says how many are left. ` +
  `Call ${terminalTool} before they run out.`;

/** The short note after a turn's tool results. */
export function turnsLeftNote({ left, limit }: TurnBudget, terminalTool: string): string {
  if (left <= 0) return `[No turns left of ${limit}: the stage stops here, its pending change kept.]`;
  if (left === 1)
    return `[1 of ${limit} turns left, your last: call ${terminalTool} now, or the stage stops where it is.]`;
  if (left <= 3) return `[${left} of ${limit} turns left: finish up and call ${terminalTool}.]`;
  return `[${left} of ${limit} turns left.]`;
}
