import type { BudgetStore, ConversationMeta, ConversationStore, ConversationTurn } from './ports';
import { monthlyBudgetAccount } from './store/keys';

/**
 * A model turn's lease and what is settled under it, shared by the LLM worker (which spends) and
 * the LLM dead-letter consumer (which gives back what a dead turn still holds).
 */

/** Which turn of which run: the fields of the LLM queue message the budget accounts key on. */
export interface TurnRef {
  runId: string;
  conversationId: string;
  turn: number;
}

/** The id of a turn's reservation on its budget accounts: one per (conversation, turn). */
export const reservationId = (m: Pick<TurnRef, 'conversationId' | 'turn'>) => `${m.conversationId}#${m.turn}`;

/** Whoever spends or settles a turn holds this lease (the worker per receive, the DLQ consumer). */
export const turnLeaseKey = (m: Pick<TurnRef, 'conversationId' | 'turn'>) =>
  `llm-turn#${m.conversationId}#${m.turn}`;

/**
 * The capped account a conversation also reserves on, if any: the repo's monthly budget (its
 * contract sets a cap; the conversation counts in the month it started, so every delivery of a
 * turn uses the same account), or a copilot ask's daily account of its API key.
 */
export function capOf(
  meta: ConversationMeta | undefined,
): { account: string; limitUsd: number; label: string } | undefined {
  if (meta?.monthlyBudget)
    return {
      account: monthlyBudgetAccount(meta.monthlyBudget.repo, Date.parse(meta.createdAt)),
      limitUsd: meta.monthlyBudget.limitUsd,
      label: `${meta.monthlyBudget.repo}'s $${meta.monthlyBudget.limitUsd.toFixed(2)} monthly budget`,
    };
  if (meta?.dailyBudget)
    return {
      account: meta.dailyBudget.account,
      limitUsd: meta.dailyBudget.limitUsd,
      label: `the API key's $${meta.dailyBudget.limitUsd.toFixed(2)} daily copilot budget`,
    };
  return undefined;
}

export const monthlyAccountOf = (meta: ConversationMeta | undefined): string | undefined =>
  capOf(meta)?.account;

/**
 * Settles the turn on the run's budget and the monthly account, marks the turn settled, then
 * drops the accounts' settled markers: from then on the turn's flag is what keeps a redelivery
 * from settling twice, so the accounts hold markers only for turns in flight.
 */
export async function settleTurn(
  deps: { store: BudgetStore & ConversationStore },
  message: TurnRef,
  costUsd: number,
  monthly: string | undefined,
): Promise<void> {
  await deps.store.settleBudget(message.runId, reservationId(message), costUsd);
  if (monthly) await deps.store.settleBudget(monthly, reservationId(message), costUsd);
  await deps.store.markTurnSettled(message.conversationId, message.turn);
  await forgetSettlements(deps, message, monthly);
}

export async function forgetSettlements(
  deps: { store: BudgetStore },
  message: TurnRef,
  monthly: string | undefined,
): Promise<void> {
  await deps.store.forgetSettlement(message.runId, reservationId(message));
  if (monthly) await deps.store.forgetSettlement(monthly, reservationId(message));
}

/**
 * Gives back what an unfinished turn holds (its worst-case reservation on the run and on the
 * month) when it will never be answered: its run ended, or its message was dead-lettered. A turn
 * that was answered is settled at its cost instead. Call it under the turn's lease (see
 * turnLeaseKey), so no other copy is mid-call.
 */
export async function releaseTurnReservation(
  deps: { store: BudgetStore & ConversationStore },
  message: TurnRef,
  meta: ConversationMeta | undefined,
  stored: ConversationTurn | undefined,
): Promise<void> {
  const monthly = monthlyAccountOf(meta);
  if (stored?.role === 'assistant') {
    // Answered but never settled (the message died first): charge what the call cost.
    if (!stored.settled) await settleTurn(deps, message, stored.costUsd ?? 0, monthly);
    return;
  }
  await giveBack(deps, message, monthly);
}

/** Releases a turn's reservation on the run (and the month): settled at 0, marker dropped. */
export async function giveBack(
  deps: { store: BudgetStore },
  message: TurnRef,
  monthly: string | undefined,
): Promise<void> {
  await deps.store.settleBudget(message.runId, reservationId(message), 0);
  if (monthly) await deps.store.settleBudget(monthly, reservationId(message), 0);
  await forgetSettlements(deps, message, monthly);
}
