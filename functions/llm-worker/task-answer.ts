import type { ConversationTurn } from '../shared/ports';
import type { LlmMessage, LlmWorkerPorts, TurnResult } from './turn-types';

/** Answering a turn's task token: a pointer to the stored turn on success, an error class on failure. */

export function toolNamesOf(content: unknown[]): string[] {
  return content
    .filter((b): b is { type: 'tool_use'; name: string } => {
      const block = b as { type?: unknown; name?: unknown };
      return block.type === 'tool_use' && typeof block.name === 'string';
    })
    .map((b) => b.name);
}

export const resultOf = (turn: ConversationTurn): TurnResult => ({
  conversationId: turn.conversationId,
  turn: turn.turn,
  stopReason: turn.stopReason ?? 'end_turn',
  toolNames: Array.isArray(turn.content) ? toolNamesOf(turn.content) : [],
  model: turn.model ?? 'unknown',
});

export async function answer(deps: LlmWorkerPorts, message: LlmMessage, result: TurnResult): Promise<void> {
  const accepted = await deps.workflow.sendTaskSuccess(message.taskToken, result);
  if (!accepted) {
    deps.log.warn('task token no longer accepted (expired, used or unknown): message acknowledged', {
      runId: message.runId,
      turn: message.turn,
    });
  }
}

export async function fail(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  error: string,
  cause: string,
): Promise<void> {
  deps.log.warn('failing the LLM task', { runId: message.runId, stage: message.stage, error });
  const accepted = await deps.workflow.sendTaskFailure(message.taskToken, error, cause);
  if (!accepted)
    deps.log.warn('task token no longer accepted: message acknowledged', { runId: message.runId });
}
