import { WRITERS } from '../shared/domain/permission';
import type { WebhookContext } from './context';
import { type Delivery, ignored, type Outcome } from './deliveries';
import { permissionOf } from './permissions';
import { resumeWait } from './resume';
import { type Intent, isBotSender } from './triggers';

/**
 * A new comment on an issue whose run waits for clarification. Only the issue's author or a writer
 * answers; the answer is a pointer to the comment, which the pipeline reads and checks again.
 */
export async function resumeClarification(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'reply' }>,
): Promise<Outcome> {
  if (isBotSender(intent.sender, ctx.config.factoryLogin)) return ignored('comment by a bot');
  const wait = await ctx.store.getWait('clarify', intent.workItemKey);
  if (!wait) return ignored('no clarification pending');
  const isAuthor = intent.sender.login.toLowerCase() === intent.issueAuthor.toLowerCase();
  if (!isAuthor && !WRITERS.has(await permissionOf(ctx, intent.repo, intent.sender.login))) {
    // Recorded on the waiting run: someone tried to answer its questions and was not allowed.
    await ctx.store.appendEvent(wait.runId, {
      type: 'clarify.reply-refused',
      actor: intent.sender.login,
      data: {
        commentId: intent.commentId,
        reason: 'neither the issue author nor a writer',
        delivery: delivery.id,
      },
    });
    return ignored('reply by neither the issue author nor a writer');
  }
  return resumeWait(ctx, delivery, wait, {
    output: { answer: { commentId: intent.commentId, author: intent.sender.login } },
  });
}
