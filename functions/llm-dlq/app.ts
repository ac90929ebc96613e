import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
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
 * It never throws: a message it cannot read is dropped (retrying would loop it), and one whose
 * failure Step Functions could not take (throttled, unreachable) is reported as a partial batch
 * failure, so only that message comes back.
 */
export function createLlmDlqHandler(ports: LlmDlqPorts) {
  return withEventMiddleware(async (event: SQSEvent): Promise<SQSBatchResponse> => {
    ports.countDeadLetter(event.Records.length);
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
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
      let accepted: boolean;
      try {
        accepted = await ports.workflow.sendTaskFailure(
          token,
          'LlmUnavailable',
          `the model call failed after ${receives ?? 'several'} attempts`,
        );
      } catch (error) {
        ports.log.warn('could not fail the dead turn; it comes back later', {
          messageId: record.messageId,
          error: error instanceof Error ? error.name : 'Error',
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
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
    return { batchItemFailures };
  });
}
