import { WRITERS } from '../shared/domain/permission';
import type { RunKind, Trigger } from '../shared/domain/run';
import { admitToWorkItem, startRun } from '../shared/start-run';
import { triggerLabelCacheKey } from '../shared/trigger-label';
import { courtesyComment } from './comment';
import type { WebhookContext } from './context';
import { claim, type Delivery, type Outcome, refuse } from './deliveries';
import { permissionOf } from './permissions';
import { refuseBot, refuseNonWriter } from './refusals';
import { DEFAULT_TRIGGER_LABEL, type Intent, isBotSender, KIND_OF_COMMAND } from './triggers';

export type StartIntent = Extract<Intent, { type: 'labeled' | 'command' }>;

/**
 * Whether a label is the repo's trigger label. The ack path never reads factory.yml: admit caches
 * the configured label, and until it has, the default one starts runs.
 */
export async function isTriggerLabel(ctx: WebhookContext, repo: string, label: string): Promise<boolean> {
  const key = triggerLabelCacheKey(repo);
  const configured =
    (await ctx.memo(key, async () => (await ctx.store.cacheGet(key)) ?? '')) || DEFAULT_TRIGGER_LABEL;
  return label.toLowerCase() === configured.toLowerCase();
}

/**
 * A trigger label or a start command: claim the delivery with a new run id, check the sender,
 * admit the run to its work item (one active run per issue), then start it.
 */
export async function startTriggeredRun(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: StartIntent,
): Promise<Outcome> {
  const source: Trigger['source'] =
    intent.type === 'labeled' ? 'label' : intent.command === 'retry' ? 'retry' : 'comment';
  let kind: RunKind = intent.type === 'labeled' ? 'change' : KIND_OF_COMMAND[intent.command as 'run'];
  if (isBotSender(intent.sender, ctx.config.factoryLogin)) return refuseBot(ctx, delivery, intent.sender);

  const claimed = await claim(ctx, delivery, { runId: ctx.ids.ulid() });
  if (!claimed.owned) return claimed.outcome;
  const runId = claimed.record.runId ?? ctx.ids.ulid();
  if (!claimed.record.runId) await ctx.store.updateDelivery(delivery.id, { runId });

  const permission = await permissionOf(ctx, intent.repo, intent.sender.login);
  if (!WRITERS.has(permission)) return refuseNonWriter(ctx, delivery, intent, permission);

  // `/factory retry` on a pull request repeats the review or rescue that ran there, never a change run.
  if (intent.type === 'command' && intent.command === 'retry' && intent.isPull) {
    const { runs } = await ctx.store.getWorkItemWithRuns(intent.workItemKey, { limit: 1 });
    const last = runs.items[0]?.kind;
    if (last !== 'review' && last !== 'rescue') {
      await courtesyComment(
        ctx,
        intent.repo,
        intent.issueNumber,
        '`/factory retry` on a pull request repeats its last review or rescue, and none ran here: comment `/factory review` or `/factory rescue` to ask for one.',
      );
      return refuse(ctx, delivery, 'retry on a pull request without a review or rescue to repeat');
    }
    kind = last;
  }

  if (kind !== 'change' && !intent.isPull) {
    await courtesyComment(
      ctx,
      intent.repo,
      intent.issueNumber,
      `\`/factory ${intent.type === 'command' ? intent.command : ''}\` works on pull requests only.`,
    );
    return refuse(ctx, delivery, `${kind} needs a pull request`);
  }

  const admission = await admitToWorkItem(ctx.store, intent.workItemKey, runId);
  if (!admission.ok) {
    const { activeRunId, activeStatus } = admission;
    if (activeStatus) {
      await ctx.store.appendEvent(activeRunId, {
        type: 'trigger.refused',
        actor: intent.sender.login,
        data: { deliveryId: delivery.id, event: delivery.event, reason: 'a run is already active' },
      });
      await courtesyComment(
        ctx,
        intent.repo,
        intent.issueNumber,
        `@${intent.sender.login} a Code Factory run is already active here (${activeRunId}, ${activeStatus}); use \`/factory cancel\` first.`,
      );
    }
    const reason = activeStatus ? `is still ${activeStatus}` : 'was started concurrently';
    return refuse(ctx, delivery, `run ${activeRunId} ${reason}`, { activeRunId });
  }

  await startRun(ctx, {
    runId,
    kind,
    repo: intent.repo,
    workItemKey: intent.workItemKey,
    issueNumber: intent.issueNumber,
    ...(intent.title === undefined ? {} : { title: intent.title }),
    trigger: {
      source,
      sender: intent.sender.login.slice(0, 100),
      deliveryId: delivery.id,
      ...(intent.type === 'labeled'
        ? { command: `label:${intent.label}`.slice(0, 40) }
        : { command: intent.command }),
    },
    ...(admission.workItem ? { workItem: admission.workItem } : {}),
    eventData: { deliveryId: delivery.id, event: delivery.event },
  });
  await ctx.store.updateDelivery(delivery.id, { state: 'STARTED', runId });
  return { status: 202, data: { status: 'started', runId } };
}
