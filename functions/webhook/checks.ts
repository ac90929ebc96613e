import { checksWaitKeyOf } from '../shared/domain/run';
import type { WebhookContext } from './context';
import { type Delivery, ignored, type Outcome } from './deliveries';
import { resumeWait } from './resume';
import type { Intent } from './triggers';

/**
 * A check suite or workflow run completed on a commit a run waits on. The answer is a signal only:
 * the pipeline re-reads CI, and waits again while other checks are pending.
 */
export async function resumeChecks(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'checks-completed' }>,
): Promise<Outcome> {
  const wait = await ctx.store.getWait('checks', checksWaitKeyOf(intent.repo, intent.sha));
  if (!wait) return ignored('no run waits on this commit');
  return resumeWait(ctx, delivery, wait, { output: { sha: intent.sha, conclusion: intent.conclusion } });
}
