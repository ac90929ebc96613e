import { cancelRun } from '../shared/cancel-run';
import { WRITERS } from '../shared/domain/permission';
import { isTerminal, type Run, repoRefOf } from '../shared/domain/run';
import { isoNow, type WebhookContext } from './context';
import { claim, type Delivery, type Outcome, refuse } from './deliveries';
import { factoryRunOf } from './follow-up';
import { permissionOf } from './permissions';
import { refuseBot, refuseNonWriter } from './refusals';
import { type Intent, isBotSender } from './triggers';

/** The newest run of the issue whose factory PR this is, if it is one. */
async function issueRunOfPull(ctx: WebhookContext, repo: string, prNumber: number): Promise<Run | undefined> {
  const pull = await ctx.github.getPull(repoRefOf(repo), prNumber);
  const owner = await factoryRunOf(ctx, repo, prNumber, pull.headRef);
  if (!owner) return undefined;
  return (await ctx.store.getWorkItemWithRuns(owner.workItemKey, { limit: 1 })).runs.items[0];
}

/** `/factory cancel` by a writer: the work item's newest run, if it is still active, ends CANCELLED. */
export async function cancelActiveRun(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'command' }>,
): Promise<Outcome> {
  if (isBotSender(intent.sender, ctx.config.factoryLogin)) return refuseBot(ctx, delivery, intent.sender);
  const claimed = await claim(ctx, delivery, {});
  if (!claimed.owned) return claimed.outcome;
  const permission = await permissionOf(ctx, intent.repo, intent.sender.login);
  if (!WRITERS.has(permission)) return refuseNonWriter(ctx, delivery, intent, permission);

  const { runs } = await ctx.store.getWorkItemWithRuns(intent.workItemKey, { limit: 1 });
  // On the factory's own PR, the active run is its issue's (a follow-up, or the run that opened it).
  const run =
    runs.items[0] ?? (intent.isPull ? await issueRunOfPull(ctx, intent.repo, intent.issueNumber) : undefined);
  if (!run || isTerminal(run.status)) return refuse(ctx, delivery, 'no active run to cancel');
  const runId = run.runId;
  // CANCELLED first, then stop, then clean up (functions/shared/cancel-run.ts): stopping first
  // would let the execution's end be recorded as a failure before the cancel is.
  await cancelRun({ ...ctx, now: () => isoNow(ctx) }, runId, {
    actor: intent.sender.login,
    cause: `cancelled by @${intent.sender.login} with /factory cancel`,
    data: { deliveryId: delivery.id },
  });
  await ctx.store.updateDelivery(delivery.id, { state: 'RESUMED', runId, reason: 'cancel' });
  return { status: 200, data: { status: 'cancelled', runId } };
}
