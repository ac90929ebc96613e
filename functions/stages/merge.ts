import { updateStatusComment } from './comments';
import type { StagePorts } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';

export class MergeRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MergeRefused';
  }
}

/**
 * merge: only the head a human approved, and only with green checks. GitHub's own `sha`
 * precondition on the merge call closes the race with a push after this check.
 */
export async function merge(deps: StagePorts, runId: string): Promise<{ mergedSha: string }> {
  const run = await mutateRun(deps, runId, (r) => enterStage(r, 'merge', deps.now(), 'MERGING'));
  const repo = deps.repoOf(run);
  if (!run.prNumber || !run.headSha) throw new MergeRefusedError('the run has no pull request');
  if (!run.approvedSha || run.approvedSha !== run.headSha) {
    throw new MergeRefusedError('the approved SHA is not the head under review');
  }
  const pull = await deps.github.getPull(repo, run.prNumber);
  if (pull.state !== 'open' || pull.headSha !== run.approvedSha) {
    throw new MergeRefusedError(
      `the pull request head moved since approval (now ${pull.headSha.slice(0, 7)})`,
    );
  }
  const checks = await deps.github.getChecks(repo, pull.headSha);
  const noCiAccepted = checks.state === 'none' && run.checksConclusion === 'none';
  if (checks.state !== 'success' && !noCiAccepted) {
    throw new MergeRefusedError(`checks are ${checks.state} on the approved head`);
  }
  const message = `${run.issueTitle ?? 'Code Factory change'} (#${run.prNumber})\n\nApproved-by: ${run.approvedBy ?? 'unknown'}\nCode-Factory-Run: ${run.runId}`;
  const result = await deps.github.mergePull(repo, run.prNumber, run.approvedSha, message);
  if (!result.merged || !result.sha) throw new MergeRefusedError('GitHub refused the merge');
  const merged = await mutateRun(deps, runId, () => ({ mergedSha: result.sha }));
  await deps.store.appendEvent(runId, {
    type: 'change.merged',
    actor: 'stage-runner',
    data: { mergedSha: result.sha, approvedSha: run.approvedSha, approvedBy: run.approvedBy },
  });
  await updateStatusComment(deps, merged, `Merged as ${result.sha.slice(0, 7)}.`);
  return { mergedSha: result.sha };
}
