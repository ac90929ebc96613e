import type { ActivityTask, ActivityTasks, Clock, Log, Workflow } from '../shared/ports';

/**
 * A poll may last 60 s (GetActivityTask's long poll) and a claim task's timeout is 120 s: no
 * poll starts after this, so the claim ends with time to spare.
 */
export const LAST_POLL_AFTER_MS = 40_000;
/**
 * At most this many tasks taken by one claim (others' included): every loop is bounded. The time
 * limit above is what usually ends a long claim; this one only caps a burst of quick handlings.
 */
export const MAX_TAKES = 100;

export interface ClaimLoop<T> {
  tasks: ActivityTasks;
  clock: Clock;
  workflow: Workflow;
  log: Log;
  /** The task's input as this claim's kind of task, or undefined when it is not one. */
  parse(input: string): T | undefined;
  /** Does what the task asks (open the wait, send the turn), token in hand. */
  handle(task: ActivityTask, item: T): Promise<void>;
  /** A task that is not of this kind is failed with this, so its execution does not wait for nothing. */
  refusal: { error: string; cause: string };
  isOwn(item: T): boolean;
  /**
   * The claim's own task has been taken (by any claim), or no longer matters (the run ended).
   * `first`: the check before any poll, which only has to catch a retried claim.
   */
  ownTaken(first: boolean): Promise<boolean>;
}

/**
 * The claim of an activity task, beside it in a Parallel (statemachines/pipeline.ts): take
 * scheduled tasks and handle each, until the claim's own task has been taken, by this claim or by
 * another. An activity is one queue shared by every run: a task another run scheduled at the same
 * moment may come first, and is handled all the same. No claim stops before its own task is
 * taken, because an activity task's timeout only starts when a worker takes it: a task nobody
 * took would wait until the execution's own time limit. Returns how many tasks it handled, or
 * undefined when it gave up (bounded by time and by takes).
 */
export async function takeUntilOwn<T>(loop: ClaimLoop<T>): Promise<number | undefined> {
  const started = loop.clock.now();
  let handled = 0;
  // A retried claim, or another run's claim, may already have taken it.
  if (await loop.ownTaken(true)) return handled;
  for (let take = 0; take < MAX_TAKES; take++) {
    const task = await loop.tasks.take();
    if (task) {
      const item = loop.parse(task.input);
      if (item === undefined) {
        loop.log.error('an activity task not of the kind its activity holds', { error: loop.refusal.error });
        await loop.workflow.sendTaskFailure(task.taskToken, loop.refusal.error, loop.refusal.cause);
      } else await loop.handle(task, item);
      handled += 1;
      if (item !== undefined && loop.isOwn(item)) return handled;
    }
    if (await loop.ownTaken(false)) return handled;
    if (loop.clock.now() - started >= LAST_POLL_AFTER_MS) break;
  }
  return undefined;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
