import { checksWaitKeyOf, isTerminal, type Run } from './domain/run';
import type { GitHub, Log, RepoRef, Store, Workflow } from './ports';
import { closeOpenStage, mutateRun } from './run-state';

export interface CancelDeps {
  store: Store;
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
 * up: the run's pending waits taken, pending approvals superseded, the PR closed. Repeating it on a
 * cancelled run redoes the (idempotent) cleanup; on a run that ended otherwise it changes nothing.
 */
export async function cancelRun(
  deps: CancelDeps,
  runId: string,
  who: { actor: string; cause: string; data?: Record<string, unknown> },
): Promise<CancelResult> {
  let transitioned = false;
  const run = await mutateRun(deps, runId, (r) => {
    transitioned = !isTerminal(r.status);
    if (!transitioned) return undefined;
    const at = deps.now();
    return {
      status: 'CANCELLED',
      stages: closeOpenStage(r.stages, at, 'FAILED'),
      endedAt: at,
      updatedAt: at,
      error: { class: 'Cancelled', cause: who.cause.slice(0, 4000) },
    };
  });
  if (run.status !== 'CANCELLED') return { run, transitioned: false, cleanup: {} };

  try {
    await deps.workflow.stopRun(runId, 'Cancelled', who.cause);
  } catch (error) {
    // A QUEUED run whose start never happened has no execution: cancelling it is still right.
    if (!/ExecutionDoesNotExist|NotFound/.test(error instanceof Error ? error.name : '')) throw error;
  }
  const cleanup = await cleanUp(deps, run);
  if (transitioned) {
    await deps.store.appendEvent(runId, {
      type: 'run.cancelled',
      actor: who.actor,
      data: { ...who.data, ...cleanup },
    });
  }
  return { run, transitioned, cleanup };
}

async function cleanUp(deps: CancelDeps, run: Run): Promise<Record<string, unknown>> {
  const done: Record<string, unknown> = { waitsTaken: 0, approvalsSuperseded: 0 };
  const waits: Array<['clarify' | 'checks' | 'approval', string]> = [
    ['approval', run.runId],
    ['clarify', run.workItemKey],
  ];
  if (run.headSha) waits.push(['checks', checksWaitKeyOf(run.repo, run.headSha)]);
  for (const [kind, key] of waits) {
    const wait = await deps.store.getWait(kind, key);
    // Waits are keyed by issue or commit: only this run's own wait is taken.
    if (wait?.runId === run.runId && (await deps.store.takeWait(kind, key))) {
      done.waitsTaken = Number(done.waitsTaken) + 1;
    }
  }
  for (const approval of await deps.store.listApprovalsForRun(run.runId)) {
    if (approval.state !== 'PENDING') continue;
    if (
      await deps.store.decideApproval(approval.approvalId, { state: 'SUPERSEDED', decidedAt: deps.now() })
    ) {
      done.approvalsSuperseded = Number(done.approvalsSuperseded) + 1;
    }
  }
  if (run.prNumber) {
    const [owner = '', repo = ''] = run.repo.split('/');
    const ref: RepoRef = { owner, repo };
    try {
      const pull = await deps.github.getPull(ref, run.prNumber);
      if (pull.state === 'open' && !pull.merged) {
        await deps.github.updatePull(ref, run.prNumber, { state: 'closed' });
        done.prClosed = run.prNumber;
      }
    } catch (error) {
      // The run is cancelled either way; the PR can be closed by hand, and the event says so.
      deps.log.warn('could not close the PR of a cancelled run', {
        runId: run.runId,
        error: error instanceof Error ? error.name : 'Error',
      });
      done.prCloseFailed = run.prNumber;
    }
  }
  return done;
}
