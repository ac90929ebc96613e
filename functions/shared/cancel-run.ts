import type { Run } from './domain/run';
import type { ApprovalStore, EventStore, GitHub, Log, RunStore, WaitStore, Workflow } from './ports';
import { withdrawEnded } from './end-run';
import { releaseWaitsAndApprovals, updateStatusComment } from './run-cleanup';
import { endRunFromOutside } from './run-state';

export interface CancelDeps {
  store: RunStore & EventStore & WaitStore & ApprovalStore;
  workflow: Workflow;
  github: GitHub;
  log: Log;
  /** ISO timestamp. */
  now(): string;
}

export interface CancelResult {
  run: Run;
  /** false when the run had already ended (CANCELLED or otherwise) before this call. */
  transitioned: boolean;
  cleanup: Record<string, unknown>;
}

/**
 * Cancels a run, for the REST API and `/factory cancel` alike. CANCELLED is written first
 * (optimistic lock, transition table), then the execution is stopped — in that order, so whatever
 * notices the stopped execution finds the run already terminal — then the leftovers are cleaned
 * up: the run's pending waits taken, pending approvals superseded, the PR closed and its branch
 * deleted, the status comment updated. Repeating it on a
 * cancelled run redoes the (idempotent) cleanup; on a run that ended otherwise it changes nothing.
 */
export async function cancelRun(
  deps: CancelDeps,
  runId: string,
  who: { actor: string; cause: string; data?: Record<string, unknown> },
): Promise<CancelResult> {
  const { run, transitioned } = await endRunFromOutside(deps, runId, 'CANCELLED', {
    class: 'Cancelled',
    cause: who.cause,
  });
  if (run.status !== 'CANCELLED') return { run, transitioned: false, cleanup: {} };

  try {
    await deps.workflow.stopRun(runId, 'Cancelled', who.cause);
  } catch (error) {
    // A QUEUED run whose start never happened has no execution: cancelling it is still right.
    if (!/ExecutionDoesNotExist|NotFound/.test(error instanceof Error ? error.name : '')) throw error;
  }
  const released = await releaseWaitsAndApprovals(deps, run);
  // A change run's PR and branch are taken back; a run on someone's PR (review) touches nothing.
  const { prClosed, branchDeleted, failed } = await withdrawEnded(deps, run);
  const cleanup = {
    waitsTaken: released.waitsReleased,
    approvalsSuperseded: released.approvalsSuperseded,
    ...(prClosed && { prClosed }),
    ...(branchDeleted && { branchDeleted }),
    ...(failed && { cleanupFailed: failed }),
  };
  if (transitioned) {
    const closed = cleanup.prClosed ? ' Its pull request was closed and its branch deleted.' : '';
    // The causes are written by the callers (who and how), never free text from a request.
    await updateStatusComment(deps, run, `The run was ${who.cause}.${closed}`);
    // Last: the event marks the end of the cleanup.
    await deps.store.appendEvent(runId, {
      type: 'run.cancelled',
      actor: who.actor,
      data: { ...who.data, ...cleanup },
    });
  }
  return { run, transitioned, cleanup };
}
