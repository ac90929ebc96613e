import type { Run } from './domain/run';
import type { CancelDeps } from './cancel-run';
import { releaseWaitsAndApprovals, updateStatusComment } from './run-cleanup';
import { endRunFromOutside } from './run-state';

/**
 * Whether a run only waits on its open PR (CI, review, approval), so a follow-up on that PR may
 * take over. A run still planning, implementing or publishing is left alone (and the follow-up
 * refused): a push in flight must not land under the follow-up, nor be taken back from its PR.
 */
export function canSupersede(run: Pick<Run, 'status' | 'stage'>): boolean {
  if (run.status === 'VERIFYING') return run.stage === 'checks';
  return run.status === 'REVIEWING' || run.status === 'AWAITING_APPROVAL';
}

/**
 * Ends a run SUPERSEDED because follow-up run `byRunId` continues its pull request: written first
 * (optimistic lock), then its execution stopped, its waits taken and its approval links superseded.
 * Nothing is closed or deleted: the follow-up goes on on the same PR and branch.
 */
export async function supersedeRun(
  deps: CancelDeps,
  runId: string,
  by: { byRunId: string; actor: string },
): Promise<{ run: Run; transitioned: boolean }> {
  const cause = `follow-up run ${by.byRunId}, asked for by @${by.actor}, continues this run's pull request`;
  const { run, transitioned } = await endRunFromOutside(deps, runId, 'SUPERSEDED', {
    class: 'Superseded',
    cause,
  });
  if (!transitioned) return { run, transitioned };
  try {
    await deps.workflow.stopRun(runId, 'Superseded', cause);
  } catch (error) {
    if (!/ExecutionDoesNotExist|NotFound/.test(error instanceof Error ? error.name : '')) throw error;
  }
  const released = await releaseWaitsAndApprovals(deps, run);
  await updateStatusComment(
    deps,
    run,
    `Superseded by follow-up run \`${by.byRunId}\` (asked for by @${by.actor}), which continues on the same pull request; this run's approval links no longer apply.`,
  );
  await deps.store.appendEvent(runId, {
    type: 'run.superseded',
    actor: by.actor,
    data: { byRunId: by.byRunId, ...released },
  });
  return { run, transitioned };
}
