import type { Run } from '../shared/domain/run';
import type { SandboxOutcome } from '../shared/domain/sandbox-job';
import { sandboxCostUsd, sandboxWorstCaseUsd } from '../shared/domain/sandbox-price';
import { monthlyBudgetAccount } from '../shared/store/keys';
import type { StagePorts } from './deps';
import type { PendingTurn } from './sandbox';

/**
 * Sandbox time is paid from the same accounts as model calls (issue 16): before a job starts, its
 * worst case (every command's and setup command's time limit × `sandbox.price_per_second_usd`)
 * is reserved on the run's budget and the repository's month; when its results are read, the
 * reservation is settled to the seconds the results report and a ledger entry (kind `sandbox`)
 * is written. Ids are per (conversation, turn), so a retried step reserves and settles once.
 */

export const sandboxReservationId = (conversationId: string, turn: number) =>
  `sandbox#${conversationId}#${turn}`;

/** Seconds a job may take at most: each command's limit, plus each setup command's. */
export const worstCaseSeconds = (pending: Pick<PendingTurn, 'calls' | 'setupSeconds'>): number =>
  pending.calls.reduce(
    (sum, call) => sum + call.commands.reduce((s, command) => s + command.timeoutSeconds, 0),
    pending.setupSeconds ?? 0,
  );

/**
 * Milliseconds billed for a job: each command's reported duration (capped at its limit, since the
 * sandbox is untrusted), plus the setup time once (every result carries it, and the setup function
 * reports its own; capped likewise). A
 * command refused because setup failed is billed through the setup time only.
 */
export function billedMs(
  pending: Pick<PendingTurn, 'calls' | 'setupSeconds' | 'setupMs'>,
  outcomes: Array<Array<SandboxOutcome | undefined>>,
): number {
  let commands = 0;
  let setup = 0;
  for (const [i, call] of pending.calls.entries())
    for (const [j, command] of call.commands.entries()) {
      const outcome = outcomes[i]?.[j];
      if (!outcome) continue;
      if (!outcome.setupFailed) commands += Math.min(outcome.durationMs, command.timeoutSeconds * 1000);
      setup = Math.max(setup, outcome.setupMs ?? 0);
    }
  // The setup function's time (a turn whose setup was not cached) adds to the fetch the commands' took.
  return commands + Math.min(setup + (pending.setupMs ?? 0), (pending.setupSeconds ?? 0) * 1000);
}

/** The run's month account, if its contract caps the month: the month the run started. */
const monthlyOf = (deps: StagePorts, run: Run) =>
  deps.contractOf(run).monthlyBudgetUsd
    ? monthlyBudgetAccount(run.repo, Date.parse(run.createdAt))
    : undefined;

/** Reserves the job's worst case; a refusal says what is left and what the job could cost. */
export async function reserveSandbox(
  deps: StagePorts,
  run: Run,
  conversationId: string,
  turn: number,
  pending: Pick<PendingTurn, 'calls' | 'setupSeconds'>,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const contract = deps.contractOf(run);
  const price = deps.settings.sandboxPricePerSecondUsd;
  const seconds = worstCaseSeconds(pending);
  const worst = sandboxWorstCaseUsd(seconds, price);
  const id = sandboxReservationId(conversationId, turn);
  const cost = `the sandbox job could cost up to $${worst.toFixed(4)} (${seconds} s at $${price} a second)`;
  if (!(await deps.store.reserveBudget(run.runId, id, worst, contract.budgetUsd))) {
    const left = await leftUsd(deps, run.runId, contract.budgetUsd);
    return {
      ok: false,
      reason: `${cost}; $${left.toFixed(4)} of the run's $${contract.budgetUsd.toFixed(2)} budget is left`,
    };
  }
  const monthly = monthlyOf(deps, run);
  if (monthly && contract.monthlyBudgetUsd) {
    if (!(await deps.store.reserveBudget(monthly, id, worst, contract.monthlyBudgetUsd))) {
      await deps.store.settleBudget(run.runId, id, 0);
      await deps.store.forgetSettlement(run.runId, id);
      const left = await leftUsd(deps, monthly, contract.monthlyBudgetUsd);
      return {
        ok: false,
        reason: `${cost}; $${left.toFixed(4)} of ${run.repo}'s $${contract.monthlyBudgetUsd.toFixed(2)} monthly budget is left`,
      };
    }
  }
  return { ok: true };
}

async function leftUsd(deps: StagePorts, account: string, limitUsd: number): Promise<number> {
  const budget = await deps.store.getBudget(account);
  return Math.max(budget ? budget.limitUsd - budget.spentUsd - budget.reservedUsd : limitUsd, 0);
}

/** Bills the job: the ledger entry, then the reservation settled to the cost on both accounts. */
export async function settleSandbox(
  deps: StagePorts,
  run: Run,
  stage: string,
  conversationId: string,
  turn: number,
  pending: Pick<PendingTurn, 'calls' | 'setupSeconds' | 'setupMs'>,
  outcomes: Array<Array<SandboxOutcome | undefined>>,
): Promise<void> {
  const ms = billedMs(pending, outcomes);
  const costUsd = sandboxCostUsd(ms, deps.settings.sandboxPricePerSecondUsd);
  await deps.store.recordSandboxRun({
    runId: run.runId,
    stage,
    conversationId,
    turn,
    sandboxSeconds: ms / 1000,
    costUsd,
    latencyMs: ms,
    at: deps.now(),
  });
  const id = sandboxReservationId(conversationId, turn);
  await deps.store.settleBudget(run.runId, id, costUsd);
  const monthly = monthlyOf(deps, run);
  if (monthly) await deps.store.settleBudget(monthly, id, costUsd);
}

/** Drops the accounts' settled markers once the turn's answer is stored (it then guards instead). */
export async function forgetSandboxSettlement(
  deps: StagePorts,
  run: Run,
  conversationId: string,
  turn: number,
): Promise<void> {
  const id = sandboxReservationId(conversationId, turn);
  await deps.store.forgetSettlement(run.runId, id);
  const monthly = monthlyOf(deps, run);
  if (monthly) await deps.store.forgetSettlement(monthly, id);
}
