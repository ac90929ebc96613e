import { releaseTurnReservation, turnLeaseKey } from '../shared/llm-lease';
import type { Env } from '../shared/config';
import type { BudgetStore, ClaimStore, ConversationStore } from '../shared/ports';
import { log, metrics } from '../shared/middleware';
import { makeStore, makeWorkflow } from '../shared/runtime';
import type { LlmDlqPorts } from './app';

/** Real ports for the LLM dead-letter consumer (Lambda's handler.ts and the embedded stack both use it). */
export function llmDlqPorts(config: Env): LlmDlqPorts {
  const store: ClaimStore & ConversationStore & BudgetStore = makeStore(config);
  return {
    workflow: makeWorkflow(config),
    log,
    countDeadLetter: (count) => {
      // Alarm-worthy: every dead letter is a model turn that never got an answer.
      metrics.addMetric('LlmDeadLetters', 'Count', count);
    },
    releaseReservation: async (dead) => {
      // Under the turn's lease: a copy still mid-call (a rare SQS duplicate) settles it itself.
      const owner = `dlq:${dead.conversationId}#${dead.turn}`;
      if (!(await store.claimLease(turnLeaseKey(dead), owner, 60))) return;
      try {
        const { meta, turns } = await store.getConversationWithTurns(dead.conversationId);
        if (!meta || meta.runId !== dead.runId) return;
        await releaseTurnReservation(
          { store },
          dead,
          meta,
          turns.find((t) => t.turn === dead.turn),
        );
      } finally {
        await store.releaseLease(turnLeaseKey(dead), owner);
      }
    },
  };
}
