import type { Permission } from '../shared/ports';
import { courtesyComment } from './comment';
import type { WebhookContext } from './context';
import { type Delivery, type Outcome, recordRefusal, refuse } from './deliveries';
import type { Intent, Sender } from './triggers';

const REFUSAL_COMMENT_TTL_SECONDS = 7 * 24 * 3600;

/** Bots and the factory itself never start or steer runs, and cost no GitHub call. */
export function refuseBot(ctx: WebhookContext, delivery: Delivery, sender: Sender): Promise<Outcome> {
  return recordRefusal(ctx, delivery, `sender ${sender.login} is a bot`);
}

/**
 * A sender without write access: the claimed delivery is REFUSED, and the sender is told why once
 * a week per issue (a cache marker), not once per attempt.
 */
export async function refuseNonWriter(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'labeled' | 'command' | 'unknown-command' | 'changes-requested' }>,
  permission: Permission,
): Promise<Outcome> {
  const reason = `@${intent.sender.login} has ${permission} permission on ${intent.repo}; write is required`;
  const onceKey = `refusal-comment:${intent.workItemKey}:${intent.sender.login}`.toLowerCase();
  if (!(await ctx.store.cacheGet(onceKey))) {
    await ctx.store.cachePut(onceKey, '1', REFUSAL_COMMENT_TTL_SECONDS);
    await courtesyComment(
      ctx,
      intent.repo,
      intent.issueNumber,
      `@${intent.sender.login} only people with write access to this repository can start or steer Code Factory runs, so this was ignored.`,
    );
  }
  return refuse(ctx, delivery, reason);
}
