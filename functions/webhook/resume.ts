import type { PendingWait } from '../shared/ports';
import type { WebhookContext } from './context';
import { claim, type Delivery, type Outcome } from './deliveries';

/** How a wait is answered: its task succeeds with `output`, or fails with `error` and `cause`. */
export type WaitAnswer = { output: unknown } | { error: string; cause: string };

/**
 * Answers a pending wait exactly once: claim the delivery, take the wait (a conditional delete,
 * so one taker), then answer its task token.
 */
export async function resumeWait(
  ctx: WebhookContext,
  delivery: Delivery,
  wait: PendingWait,
  answer: WaitAnswer,
): Promise<Outcome> {
  const { store, workflow } = ctx;
  const claimed = await claim(ctx, delivery, { runId: wait.runId });
  if (!claimed.owned) return claimed.outcome;
  const ignore = async (reason: string): Promise<Outcome> => {
    await store.updateDelivery(delivery.id, { state: 'IGNORED', reason });
    return { status: 200, data: { status: 'ignored', reason } };
  };
  const taken = await store.takeWait(wait.kind, wait.key);
  if (!taken) return ignore('wait already resumed');
  let accepted: boolean;
  try {
    accepted =
      'error' in answer
        ? await workflow.sendTaskFailure(taken.taskToken, answer.error, answer.cause)
        : await workflow.sendTaskSuccess(taken.taskToken, answer.output);
  } catch (error) {
    // Give the wait back so a redelivery (or the next reply) can still resume the run.
    await store.putWait(taken);
    throw error;
  }
  if (!accepted) return ignore('task token no longer valid');
  await store.updateDelivery(delivery.id, { state: 'RESUMED', runId: taken.runId });
  return { status: 200, data: { status: 'resumed', runId: taken.runId } };
}
