import { updateStatusComment } from './comments';
import type { StageDeps } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';

/**
 * revert (test-and-commit-or-revert): out of fix attempts, or the same failure twice. Close the
 * PR, delete the branch, and say why on the issue. Each step tolerates having been done already.
 */
export async function revert(deps: StageDeps, runId: string): Promise<{ reverted: true }> {
  const run = await mutateRun(deps, runId, (r) => enterStage(r, 'revert', deps.now()));
  const repo = deps.repoOf(run);
  if (run.prNumber) {
    const pull = await deps.github.getPull(repo, run.prNumber);
    if (pull.state === 'open') await deps.github.updatePull(repo, run.prNumber, { state: 'closed' });
  }
  if (run.branch) {
    const head = await deps.github.getRef(repo, `heads/${run.branch}`);
    if (head) await deps.github.deleteRef(repo, `heads/${run.branch}`);
  }
  await deps.store.appendEvent(runId, {
    type: 'change.reverted',
    actor: 'stage-runner',
    data: { prNumber: run.prNumber, branch: run.branch, reason: run.error?.class },
  });
  await updateStatusComment(
    deps,
    run,
    `CI kept failing, so the pull request was closed and its branch deleted.\n\n**Root cause:**\n\`\`\`\n${run.error?.cause ?? 'unknown'}\n\`\`\``,
  );
  return { reverted: true };
}
