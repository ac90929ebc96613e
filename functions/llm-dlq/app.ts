import type { SQSEvent } from 'aws-lambda';
import type { Log, Workflow } from '../shared/ports';

export interface LlmDlqDeps {
  workflow: Workflow;
  log: Log;
  /** Emits the alarm-worthy metric (Powertools Metrics on AWS). */
  countDeadLetter: (count: number) => void;
}

/**
 * Every message that lands in the LLM dead-letter queue fails its task token with
 * `LlmUnavailable`, so no execution waits for a model answer that will never come.
 * It never throws: a failing DLQ consumer would only loop the same messages.
 */
export function createLlmDlqHandler(deps: LlmDlqDeps) {
  return async (event: SQSEvent): Promise<void> => {
    deps.countDeadLetter(event.Records.length);
    for (const record of event.Records) {
      let token: unknown;
      let runId: unknown;
      try {
        ({ taskToken: token, runId } = JSON.parse(record.body) as { taskToken?: unknown; runId?: unknown });
      } catch {
        deps.log.error('dead letter without a readable body', { messageId: record.messageId });
        continue;
      }
      if (typeof token !== 'string' || token.length === 0) {
        deps.log.error('dead letter without a task token', { messageId: record.messageId });
        continue;
      }
      const receives = record.attributes.ApproximateReceiveCount;
      const accepted = await deps.workflow
        .sendTaskFailure(
          token,
          'LlmUnavailable',
          `the model call failed after ${receives ?? 'several'} attempts`,
        )
        .catch(() => false);
      deps.log.warn('dead-lettered LLM turn failed', { messageId: record.messageId, runId, accepted });
    }
  };
}
