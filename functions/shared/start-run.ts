import {
  isTerminal,
  type Run,
  type RunKind,
  Run as RunSchema,
  type Trigger,
  type WorkItem,
} from './domain/run';
import type { ClaimStore, Clock, EventStore, RunStore, Workflow } from './ports';

/**
 * Starting a run: the one way both front doors (the webhook and the REST API) do it. Every step is idempotent for a given run id, so a retried start —
 * a redelivered webhook, a replayed Idempotency-Key — converges on the same run and execution.
 */

/** Claims on "the next run of this WorkItem" live a day: long enough to outlast any duplicate. */
export const START_CLAIM_TTL_SECONDS = 24 * 3600;

export type WorkItemAdmission =
  | { ok: true; workItem?: WorkItem }
  | { ok: false; activeRunId: string; activeStatus?: string };

/**
 * One active run per WorkItem: the newest run must be terminal (or be this very run, when a
 * crashed start is retried), and the claim on "the run after <newest>" must be ours, so API and
 * webhook starts race fairly for one WorkItem.
 */
export async function admitToWorkItem(
  store: RunStore & ClaimStore,
  workItemKey: string,
  runId: string,
): Promise<WorkItemAdmission> {
  const { workItem, runs } = await store.getWorkItemWithRuns(workItemKey, { limit: 1 });
  const newest = runs.items[0];
  if (newest && newest.runId !== runId && !isTerminal(newest.status)) {
    return { ok: false, activeRunId: newest.runId, activeStatus: newest.status };
  }
  if (newest?.runId !== runId) {
    const claim = await store.claimIdempotencyKey(
      'workitem-start',
      `${workItemKey}:after:${newest?.runId ?? '-'}`,
      runId,
      START_CLAIM_TTL_SECONDS,
    );
    if (!claim.first && claim.runId !== runId) return { ok: false, activeRunId: claim.runId };
  }
  return { ok: true, ...(workItem ? { workItem } : {}) };
}

export interface StartRunInput {
  runId: string;
  kind: RunKind;
  repo: string;
  workItemKey: string;
  issueNumber?: number;
  task?: string;
  title?: string;
  trigger: Trigger;
  /** The WorkItem as read by admitToWorkItem (its fields are kept). */
  workItem?: WorkItem;
  /** A retry's budget in place of the repository's (admit holds it to the repository's cap). */
  budgetUsd?: number;
  /** A follow-up run: the factory PR it continues and what was asked there. */
  followUp?: Run['followUp'];
  /** Extra details for the `run.created` audit event (ids and hashes only). */
  eventData?: Record<string, unknown>;
}

/**
 * createRun (QUEUED; an existing id is kept) → WorkItem pointer → `run.created` audit event
 * (once) → StartExecution named by the run id. Returns the stored run and whether this call
 * created it.
 */
export async function startRun(
  ports: { store: RunStore & EventStore; workflow: Workflow; clock: Clock },
  input: StartRunInput,
): Promise<{ run: Run; created: boolean }> {
  const { store, workflow, clock } = ports;
  const now = new Date(clock.now()).toISOString();
  // Parsed so every defaulted field of the schema is present (the store validates it again).
  const run: Run = RunSchema.parse({
    runId: input.runId,
    kind: input.kind,
    repo: input.repo,
    workItemKey: input.workItemKey,
    status: 'QUEUED',
    version: 0,
    createdAt: now,
    updatedAt: now,
    trigger: input.trigger,
    ...(input.issueNumber === undefined ? {} : { issueNumber: input.issueNumber }),
    ...(input.task === undefined ? {} : { task: input.task }),
    ...(input.title === undefined ? {} : { issueTitle: input.title }),
    ...(input.budgetUsd === undefined ? {} : { budgetUsd: input.budgetUsd }),
    ...(input.followUp === undefined ? {} : { followUp: input.followUp }),
  });
  let created = true;
  try {
    await store.createRun(run);
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'AlreadyExists') throw error;
    created = false;
  }
  const existing = input.workItem;
  await store.putWorkItem({
    ...(existing ?? {}),
    key: input.workItemKey,
    repo: input.repo,
    ...(input.issueNumber === undefined ? {} : { issueNumber: input.issueNumber }),
    ...(input.title === undefined ? {} : { title: input.title }),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    latestRunId: input.runId,
  });
  const needsCreatedEvent = created || (await store.listEvents(input.runId, { limit: 1 })).items.length === 0;
  if (needsCreatedEvent) {
    await store.appendEvent(input.runId, {
      type: 'run.created',
      actor: input.trigger.sender,
      data: { kind: input.kind, source: input.trigger.source, ...(input.eventData ?? {}) },
    });
  }
  await workflow.startRun(input.runId, { runId: input.runId });
  const stored = created ? run : ((await store.getRun(input.runId)) ?? run);
  return { run: stored, created };
}
