import { createHash } from 'node:crypto';
import { canonicalJson } from '../shared/domain/audit';
import { providerPrefixOf } from '../shared/domain/providers';
import {
  capOf,
  forgetSettlements,
  giveBack,
  monthlyAccountOf,
  reservationId,
  settleTurn,
} from '../shared/llm-lease';
import type { ConversationMeta, ConversationTurn, LlmRequest } from '../shared/ports';
import { answer, fail, resultOf, toolNamesOf } from './task-answer';
import type { LlmMessage, LlmResponse, LlmWorkerPorts, TurnResult } from './turn-types';

/** A turn's money: the reservation before the call, the ledger entry and settlement after it. */

/**
 * Reserves the call's worst case on the run, then on the repo's monthly cap (or an ask's daily one),
 * if any. Refused: the turn fails saying how much is left, and nothing stays reserved.
 */
export async function reserveTurn(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  meta: ConversationMeta,
  worstCase: number,
): Promise<{ monthly: string | undefined } | undefined> {
  const { store } = deps;
  const refuse = async (account: string, limitUsd: number, label: string) => {
    const budget = await store.getBudget(account);
    const left = budget ? budget.limitUsd - budget.spentUsd - budget.reservedUsd : limitUsd;
    await fail(
      deps,
      message,
      'BudgetExceeded',
      `the next ${message.stage} call could cost up to $${worstCase.toFixed(4)}; $${Math.max(left, 0).toFixed(4)} of ${label} is left`,
    );
    return undefined;
  };
  if (!(await store.reserveBudget(message.runId, reservationId(message), worstCase, meta.budgetUsd))) {
    return refuse(message.runId, meta.budgetUsd, `the run's $${meta.budgetUsd.toFixed(2)} budget`);
  }
  const cap = capOf(meta);
  if (cap && !(await store.reserveBudget(cap.account, reservationId(message), worstCase, cap.limitUsd))) {
    await giveBack(deps, message, undefined); // only the run's reservation was made
    return refuse(cap.account, cap.limitUsd, cap.label);
  }
  return { monthly: cap?.account };
}

/**
 * Stores the answer (first writer wins: a concurrent delivery's stored answer is the record), and
 * for the first writer records the ledger entry, settles the reservation and logs the call; then
 * answers the task token.
 */
export async function recordAnswer(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  meta: ConversationMeta,
  request: LlmRequest,
  response: LlmResponse,
  { latencyMs, monthly }: { latencyMs: number; monthly: string | undefined },
): Promise<void> {
  const { store } = deps;
  const costUsd = deps.pricing.costUsd(response.model, response.usage);
  const at = new Date(deps.clock.now()).toISOString();
  const stored = await store.putTurn({
    conversationId: message.conversationId,
    turn: message.turn,
    runId: message.runId,
    stage: message.stage,
    role: 'assistant',
    content: response.content,
    model: response.model,
    stopReason: response.stopReason,
    usage: { ...response.usage },
    costUsd,
    createdAt: at,
  });
  const fresh: TurnResult = {
    conversationId: message.conversationId,
    turn: message.turn,
    stopReason: response.stopReason,
    toolNames: toolNamesOf(response.content),
    model: response.model,
  };
  if (!stored.first) {
    await answer(deps, message, stored.existing ? resultOf(stored.existing) : fresh);
    return;
  }
  const usage = response.usage;
  const provider = response.provider ? { provider: response.provider } : {};
  const tokens = {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cacheReadTokens: usage.cacheReadTokens,
    cacheWriteTokens: usage.cacheWrite5mTokens + usage.cacheWrite1hTokens,
  };
  await store.recordLlmCall({
    runId: message.runId,
    ...(meta.account ? { account: meta.account } : {}),
    stage: message.stage,
    conversationId: message.conversationId,
    turn: message.turn,
    model: response.model,
    ...provider,
    ...tokens,
    cacheWrite5mTokens: usage.cacheWrite5mTokens,
    cacheWrite1hTokens: usage.cacheWrite1hTokens,
    costUsd,
    latencyMs,
    at,
  });
  await settleTurn(deps, message, costUsd, monthly);
  await store.appendEvent(message.runId, {
    type: 'llm.call',
    actor: 'llm-worker',
    data: {
      stage: message.stage,
      conversationId: message.conversationId,
      turn: message.turn,
      model: response.model,
      ...provider,
      promptSha256: createHash('sha256').update(canonicalJson(request)).digest('hex'),
      ...tokens,
      costUsd,
      latencyMs,
      stopReason: response.stopReason,
    },
  });
  await answer(deps, message, fresh);
}

/**
 * A redelivery after a crash between storing the turn and settling: the ledger entry and the
 * settlements are idempotent per (conversation, turn), so they are simply done again from the
 * stored turn. Nothing is charged twice; nothing stays reserved.
 */
export async function finishAccounting(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  turn: ConversationTurn,
  meta: ConversationMeta | undefined,
): Promise<void> {
  const costUsd = turn.costUsd ?? 0;
  const usage = turn.usage ?? {};
  const n = (key: string) => Math.max(0, Math.round(usage[key] ?? 0));
  const provider = providerPrefixOf(turn.model ?? '');
  await deps.store.recordLlmCall({
    runId: message.runId,
    ...(meta?.account ? { account: meta.account } : {}),
    stage: message.stage,
    conversationId: message.conversationId,
    turn: message.turn,
    model: turn.model ?? 'unknown',
    ...(provider ? { provider } : {}),
    inputTokens: n('inputTokens'),
    outputTokens: n('outputTokens'),
    cacheReadTokens: n('cacheReadTokens'),
    cacheWriteTokens: n('cacheWrite5mTokens') + n('cacheWrite1hTokens'),
    cacheWrite5mTokens: n('cacheWrite5mTokens'),
    cacheWrite1hTokens: n('cacheWrite1hTokens'),
    costUsd,
    latencyMs: 0,
    at: turn.createdAt,
  });
  const monthly = monthlyAccountOf(meta);
  if (turn.settled) {
    await forgetSettlements(deps, message, monthly); // in case a crash came between flag and forget
    return;
  }
  await settleTurn(deps, message, costUsd, monthly);
}
