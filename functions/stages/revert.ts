import { onFailureOf } from '../shared/end-run';
import { fenced, keepAsDraft, withdrawChange } from '../shared/run-cleanup';
import { updateStatusComment } from './comments';
import type { StagePorts } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';

/**
 * revert (test-and-commit-or-revert): out of fix attempts, or the same failure twice. Close the
 * PR, delete the branch (or, with `on_failure: draft`, leave the PR a draft), and say why on the
 * issue. Each step tolerates having been done already.
 */
export async function revert(deps: StagePorts, runId: string): Promise<{ reverted: true }> {
  const run = await mutateRun(deps, runId, (r) => enterStage(r, 'revert', deps.now()));
  const draft = onFailureOf(run) === 'draft';
  const withdrawn = draft ? await keepAsDraft(deps, run) : await withdrawChange(deps, run);
  // A step GitHub refused is retried by the state machine (the stage is idempotent).
  if (withdrawn.failed) throw new Error(`revert could not ${withdrawn.failed.join(' and ')}`);
  await deps.store.appendEvent(runId, {
    type: 'change.reverted',
    actor: 'stage-runner',
    data: { prNumber: run.prNumber, branch: run.branch, reason: run.error?.class },
  });
  await updateStatusComment(
    deps,
    run,
    `CI kept failing, so the pull request was ${draft ? 'left open as a draft' : 'closed and its branch deleted'}.\n\n**Root cause:**\n${fenced(run.error?.cause ?? 'unknown')}`,
  );
  return { reverted: true };
}
