import { WRITERS } from '../shared/domain/permission';
import { isTerminal, type Run, repoRefOf, workItemKeyOf } from '../shared/domain/run';
import { redactSecrets } from '../shared/domain/secret-scan';
import { admitToWorkItem, startRun } from '../shared/start-run';
import { canSupersede, supersedeRun } from '../shared/supersede-run';
import { courtesyComment } from './comment';
import { isoNow, type WebhookContext } from './context';
import { claim, type Delivery, ignored, type Outcome, refuse } from './deliveries';
import { answerUnknownCommand } from './help';
import { permissionOf } from './permissions';
import { refuseBot, refuseNonWriter } from './refusals';
import { type Intent, isBotSender } from './triggers';

export type FollowUpIntent = Extract<Intent, { type: 'unknown-command' | 'changes-requested' }>;

/** How many of a work item's newest runs are searched for the one that owns the PR (bounded). */
const OWNER_LOOKBACK = 10;

/**
 * The factory run that owns pull request `prNumber`: the PR's branch names the issue
 * (`factory/<issue>-…`, publish.ts), and one of that work item's newest runs recorded this PR.
 */
export async function factoryRunOf(
  ctx: WebhookContext,
  repo: string,
  prNumber: number,
  headRef: string,
): Promise<Run | undefined> {
  const issue = Number(/^factory\/(\d{1,9})-/.exec(headRef)?.[1] ?? Number.NaN);
  if (!Number.isSafeInteger(issue) || issue <= 0) return undefined;
  const { runs } = await ctx.store.getWorkItemWithRuns(workItemKeyOf(repo, issue), { limit: OWNER_LOOKBACK });
  return runs.items.find((r) => r.prNumber === prNumber && r.branch === headRef);
}

/**
 * `/factory <instructions>` on a factory PR, or a review requesting changes there, by a writer: a
 * follow-up run on the PR's work item, branch and PR (plan skipped, implement from the PR's
 * head). A run still waiting on the PR ends SUPERSEDED first. On any other PR, unknown words
 * are answered with the help text, and reviews are ignored.
 */
export async function startFollowUp(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: FollowUpIntent,
): Promise<Outcome> {
  const isReview = intent.type === 'changes-requested';
  if (isBotSender(intent.sender, ctx.config.factoryLogin))
    return isReview ? refuseBot(ctx, delivery, intent.sender) : ignored('comment by a bot');
  if (!isReview && !intent.text) return answerUnknownCommand(ctx, delivery, intent);
  // The pull request is read once: its head names the factory's run, its state gates the follow-up.
  let pullRead: ReturnType<WebhookContext['github']['getPull']> | undefined;
  const pullOf = () => {
    pullRead ??= ctx.github.getPull(repoRefOf(intent.repo), intent.issueNumber);
    return pullRead;
  };
  const headRef = isReview ? intent.headRef : intent.isPull ? (await pullOf()).headRef : '';
  const owner = headRef ? await factoryRunOf(ctx, intent.repo, intent.issueNumber, headRef) : undefined;
  if (!owner?.issueNumber) {
    if (!isReview) return answerUnknownCommand(ctx, delivery, intent);
    return ignored('a review on a pull request the factory did not open');
  }

  const claimed = await claim(ctx, delivery, { runId: ctx.ids.ulid() });
  if (!claimed.owned) return claimed.outcome;
  const runId = claimed.record.runId ?? ctx.ids.ulid();
  if (!claimed.record.runId) await ctx.store.updateDelivery(delivery.id, { runId });
  const permission = await permissionOf(ctx, intent.repo, intent.sender.login);
  if (!WRITERS.has(permission)) return refuseNonWriter(ctx, delivery, intent, permission);

  const say = (text: string) => courtesyComment(ctx, intent.repo, intent.issueNumber, text);
  const pull = await pullOf();
  if (pull.state !== 'open' || pull.merged) {
    await say(`@${intent.sender.login} this pull request is no longer open: a follow-up needs an open one.`);
    return refuse(ctx, delivery, 'follow-up on a pull request that is not open');
  }

  // The newest run of the work item: one still waiting on this PR gives way; any other active
  // run (planning, implementing) keeps the branch, and the follow-up is refused.
  const workItemKey = owner.workItemKey;
  const { runs } = await ctx.store.getWorkItemWithRuns(workItemKey, { limit: 1 });
  const newest = runs.items[0];
  if (newest && newest.runId !== runId && !isTerminal(newest.status)) {
    if (newest.prNumber !== intent.issueNumber || !canSupersede(newest)) {
      await say(
        `@${intent.sender.login} run ${newest.runId} is still ${newest.status} (${newest.stage ?? 'starting'}) on this work; ask again once it waits for CI, review or approval, or use \`/factory cancel\` on the issue.`,
      );
      return refuse(ctx, delivery, `run ${newest.runId} is still ${newest.status}`, {
        activeRunId: newest.runId,
      });
    }
    await supersedeRun({ ...ctx, now: () => isoNow(ctx) }, newest.runId, {
      byRunId: runId,
      actor: intent.sender.login,
    });
  }

  // Secrets in what people wrote never reach the run record or a prompt (as for issue text).
  const asked = redactSecrets(isReview ? intent.body : intent.text);
  const admission = await admitToWorkItem(ctx.store, workItemKey, runId);
  if (!admission.ok) return refuse(ctx, delivery, `run ${admission.activeRunId} was started concurrently`);
  await startRun(ctx, {
    runId,
    kind: 'follow-up',
    repo: owner.repo,
    workItemKey,
    issueNumber: owner.issueNumber,
    ...(owner.issueTitle === undefined ? {} : { title: owner.issueTitle }),
    trigger: {
      source: isReview ? 'review' : 'comment',
      sender: intent.sender.login.slice(0, 100),
      deliveryId: delivery.id,
      command: isReview ? `review:${intent.reviewId}`.slice(0, 40) : 'follow-up',
    },
    followUp: {
      prNumber: intent.issueNumber,
      branch: headRef,
      fromRunId: owner.runId,
      sender: intent.sender.login.slice(0, 100),
      instructions: asked.text,
      ...(isReview ? { reviewId: intent.reviewId } : {}),
      reviewComments: [],
    },
    ...(admission.workItem ? { workItem: admission.workItem } : {}),
    eventData: {
      deliveryId: delivery.id,
      event: delivery.event,
      prNumber: intent.issueNumber,
      ...(asked.findings.length
        ? { instructionsRedacted: [...new Set(asked.findings.map((f) => f.id))] }
        : {}),
    },
  });
  await ctx.store.updateDelivery(delivery.id, { state: 'STARTED', runId });
  return { status: 202, data: { status: 'started', runId } };
}
