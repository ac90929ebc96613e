import { type HistoryEvent, paginateGetExecutionHistory, type SFNClient } from '@aws-sdk/client-sfn';
import { executionArnFor } from '../../functions/shared/adapters/workflow';

/** Every history event of a run's execution (paged through the real SDK, bounded). */
export async function historyOf(
  sfn: SFNClient,
  stateMachineArn: string,
  runId: string,
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  const pages = paginateGetExecutionHistory(
    { client: sfn, pageSize: 1000 },
    { executionArn: executionArnFor(stateMachineArn, runId), maxResults: 1000 },
  );
  let count = 0;
  for await (const page of pages) {
    events.push(...(page.events ?? []));
    if (++count > 50) throw new Error('execution history has more than 50 pages');
  }
  return events;
}

/** Names of the states entered, in order. */
export const statesEntered = (events: HistoryEvent[]): string[] =>
  events.flatMap((e) => (e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : []));
