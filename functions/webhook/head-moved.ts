import { workItemKeyOf } from '../shared/domain/run';
import type { WebhookContext } from './context';
import { type Delivery, ignored, type Outcome } from './deliveries';
import { resumeWait } from './resume';
import type { Intent } from './triggers';

/**
 * pull_request.synchronize on the PR of a run waiting for approval, to a head other than the one
 * the approvers were asked about: the approval no longer applies. The approval task fails with
 * HeadMoved (the run ends FAILED, its links dead), exactly once, whoever pushed.
 */
export async function failApprovalOnHeadMoved(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'head-moved' }>,
): Promise<Outcome> {
  const { runs } = await ctx.store.getWorkItemWithRuns(workItemKeyOf(intent.repo, intent.issueNumber), {
    limit: 1,
  });
  const run = runs.items[0];
  if (!run || run.prNumber !== intent.prNumber || run.status !== 'AWAITING_APPROVAL')
    return ignored('no run waits for approval on this pull request');
  if (run.headSha === intent.sha) return ignored('the head the approvers were asked about');
  const wait = await ctx.store.getWait('approval', run.runId);
  if (!wait || wait.runId !== run.runId) return ignored('no approval pending');
  const cause = `the pull request's head moved from ${run.headSha?.slice(0, 7)} to ${intent.sha.slice(0, 7)} (pushed by ${intent.sender.login}) while it waited for approval; comment /factory retry to start a new run`;
  return resumeWait(ctx, delivery, wait, { error: 'HeadMoved', cause });
}
