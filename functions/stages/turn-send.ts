import * as z from 'zod';
import { isTerminal, RunId } from '../shared/domain/run';
import { FactoryError } from '../shared/errors';
import { parseJson, takeUntilOwn } from './activity-claim';
import type { StageDeps } from './deps';

/** The input `<Stage>TurnWait` schedules the LLM turn activity task with (statemachines/pipeline.ts). */
const TurnInput = z.object({
  runId: RunId,
  stage: z.string().min(1).max(40),
  conversationId: z.string().min(1).max(80),
  turn: z.number().int().min(1).max(200),
  modelAlias: z.string().min(1).max(40),
  turnId: z.string().uuid(),
});
export type TurnInput = z.infer<typeof TurnInput>;

/** How long the "taken" mark of a turn is kept: far beyond any claim that could look for it. */
const TAKEN_MARK_SECONDS = 24 * 3600;
const takenMarkOf = (turnId: string) => `llm-turn-taken#${turnId}`;

/** The run's LLM turn was neither taken by this claim nor by another before the claim gave up. */
export class TurnNotSent extends FactoryError {
  constructor(turn: Pick<TurnInput, 'conversationId' | 'turn'>) {
    super(
      'TurnNotSent',
      `turn ${turn.turn} of conversation ${turn.conversationId} could not be taken from the LLM turn activity in time`,
    );
  }
}

/**
 * turn.send (states `PlanTurnSend`, `ImplementTurnSend`, `ReviewTurnSend`): take scheduled LLM
 * turns from the turn activity and put each on the LLM queue as
 * `{taskToken, runId, stage, conversationId, turn, modelAlias}` (SPEC §4), where the LLM worker
 * answers it; until this run's turn (`own`) has been taken (activity-claim.ts). The token reaches
 * the queue from here, never through the state machine's parameters, so it is in no execution
 * history (decision 0004). Each turn taken is marked, so a retried or later claim knows; a turn
 * that cannot be queued is failed (`LlmQueueUnavailable`) at once.
 */
export async function sendTurn(
  deps: StageDeps,
  own: Pick<TurnInput, 'runId' | 'conversationId' | 'turn' | 'turnId'>,
): Promise<{ sent: number }> {
  const sent = await takeUntilOwn<TurnInput>({
    tasks: deps.turns,
    clock: deps.clock,
    workflow: deps.workflow,
    log: deps.log,
    parse: (input) => TurnInput.safeParse(parseJson(input)).data,
    isOwn: (turn) => turn.turnId === own.turnId,
    ownTaken: async (first) => {
      if ((await deps.store.cacheGet(takenMarkOf(own.turnId))) !== undefined) return true;
      if (first) return false;
      // A run cancelled meanwhile: its turn was withdrawn, nobody will take it.
      const run = await deps.store.getRun(own.runId);
      return !run || isTerminal(run.status);
    },
    refusal: {
      error: 'InvalidTurn',
      cause: 'the LLM turn activity task does not name a run, conversation and turn',
    },
    handle: async (task, turn) => {
      const { turnId, ...message } = turn;
      // Marked first: a claim waiting for this turn stops looking as soon as it is taken.
      await deps.store.cachePut(takenMarkOf(turnId), turn.runId, TAKEN_MARK_SECONDS);
      try {
        await deps.llmQueue.send({ taskToken: task.taskToken, ...message });
      } catch (error) {
        // The turn is taken and on no queue: fail it now (its run ends with the cause) rather than
        // let it wait out its timeout, and go on with the claim.
        const name = error instanceof Error && error.name ? error.name : 'Error';
        deps.log.warn('an LLM turn could not be queued', { runId: turn.runId, error: name });
        await deps.workflow.sendTaskFailure(
          task.taskToken,
          'LlmQueueUnavailable',
          `the LLM turn could not be put on the LLM queue (${name})`,
        );
      }
    },
  });
  if (sent === undefined) throw new TurnNotSent(own);
  return { sent };
}
