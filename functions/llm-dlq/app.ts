import type { SQSEvent } from 'aws-lambda';
import { withEventMiddleware } from '../shared/middleware';
import type { Log, Workflow } from '../shared/ports';

export interface LlmDlqPorts {
  workflow: Workflow;
  log: Log;
  /** Emits the alarm-worthy metric (Powertools Metrics on AWS). */
  countDeadLetter: (count: number) => void;
  /** Gives back what the dead turn still holds on its run's and its repo's budgets. */
  releaseReservation?: (turn: { runId: string; conversationId: string; turn: number }) => Promise<void>;
}

/**
 * Every message that lands in the LLM dead-letter queue fails its task token with
 * `LlmUnavailable`, so no execution waits for a model answer that will never come.
 * It never throws: a failing DLQ consumer would only loop the same messages.
 */
export function createLlmDlqHandler(ports: LlmDlqPorts) {
  return withEventMiddleware(async (event: SQSEvent): Promise<void> => {
    ports.countDeadLetter(event.Records.length);
    for (const record of event.Records) {
      let token: unknown;
      let runId: unknown;
      let conversationId: unknown;
      let turn: unknown;
      try {
        ({
          taskToken: token,
          runId,
          conversationId,
          turn,
        } = JSON.parse(record.body) as Record<string, unknown>);
      } catch {
        ports.log.error('dead letter without a readable body', { messageId: record.messageId });
        continue;
      }
      if (typeof token !== 'string' || token.length === 0) {
        ports.log.error('dead letter without a task token', { messageId: record.messageId });
        continue;
      }
      const receives = record.attributes.ApproximateReceiveCount;
      const accepted = await ports.workflow
        .sendTaskFailure(
          token,
          'LlmUnavailable',
          `the model call failed after ${receives ?? 'several'} attempts`,
        )
        .catch(() => false);
      ports.log.warn('dead-lettered LLM turn failed', { messageId: record.messageId, runId, accepted });
      if (
        ports.releaseReservation &&
        typeof runId === 'string' &&
        typeof conversationId === 'string' &&
        Number.isSafeInteger(turn)
      ) {
        await ports
          .releaseReservation({ runId, conversationId, turn: turn as number })
          .catch((error: unknown) =>
            ports.log.warn("could not release the dead turn's reservation", {
              runId,
              error: error instanceof Error ? error.name : 'Error',
            }),
          );
      }
    }
  });
}
