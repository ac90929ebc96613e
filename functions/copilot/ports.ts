import type { AskStore, Clock, ConversationStore, EventStore, Ids, Log, RunStore } from '../shared/ports';

/**
 * What the copilot function may touch: the runs and their events to read, its own asks and
 * conversations to write. No workflow, queue or GitHub port: it cannot change a run.
 */
export interface CopilotPorts {
  store: Pick<
    RunStore,
    'getRun' | 'listRunsByRepo' | 'listRunsByStatus' | 'listRecentRuns' | 'getWorkItemWithRuns'
  > &
    Pick<EventStore, 'listEvents'> &
    Pick<ConversationStore, 'putConversation' | 'putTurn' | 'getTurn'> &
    AskStore;
  clock: Clock;
  ids: Ids;
  log: Log;
  /** The `fast` alias's model list (first preferred), from MODEL_CONFIG. */
  models: string[];
  budget: { askUsd: number; dailyUsd: number };
}
