import * as z from 'zod';
import { isTerminal, RunId } from '../shared/domain/run';
import { FactoryError } from '../shared/errors';
import type { ClaimedWait } from '../shared/ports';
import { requestApproval } from './approval';
import { waitForChecks } from './checks';
import { awaitClarification } from './clarify';
import type { StageDeps } from './deps';

/**
 * What opens each kind of wait once its token is in hand. The opener stores the token (never
 * returns it) and marks the run with the wait's id in its first write (`openWaitId`).
 */
export const WAIT_OPENERS = {
  clarify: awaitClarification,
  checks: waitForChecks,
  approval: requestApproval,
} as const satisfies Record<
  string,
  (deps: StageDeps, runId: string, taskToken: string, waitId: string) => Promise<void>
>;

export const WaitKind = z.enum(Object.keys(WAIT_OPENERS) as [keyof typeof WAIT_OPENERS]);
export type WaitKind = z.infer<typeof WaitKind>;

/** The input `<Name>Wait` schedules the activity task with (statemachines/pipeline.ts). */
const WaitInput = z.object({ stage: WaitKind, runId: RunId, waitId: z.string().uuid() });
export type WaitInput = z.infer<typeof WaitInput>;

/** Step Functions' SendTaskFailure limits. */
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;
/**
 * A poll may last 60 s (GetActivityTask's long poll) and the claim task's timeout is 120 s:
 * no poll starts after this, so the claim ends with time to spare.
 */
export const LAST_POLL_AFTER_MS = 40_000;
/** At most this many waits taken by one claim (others' included): every loop is bounded. */
export const MAX_TAKES = 20;

/** The run's wait was neither taken by this claim nor by another before the claim gave up. */
export class WaitNotOpened extends FactoryError {
  constructor(wait: WaitInput) {
    super(
      'WaitNotOpened',
      `the ${wait.stage} wait could not be taken from the wait activity in time; the run did not wait for anyone`,
    );
  }
}

/**
 * wait.claim (states `ClarifyClaim`, `ChecksClaim`, `ApprovalClaim`): take scheduled waits from
 * the wait activity and open each, until this run's wait (`own`) has been taken, by this claim or
 * by another. The activity is a shared queue: a wait scheduled by another run at the same moment
 * may come first, and is opened here all the same; a task no claim took would never start (an
 * activity's timeout counts from when a worker takes it), so no claim stops before its own wait
 * is taken. The result says only how many waits this claim opened: nothing of another run enters
 * this run's history.
 */
export async function claimWait(deps: StageDeps, own: WaitInput): Promise<{ opened: number }> {
  const started = deps.clock.now();
  let opened = 0;
  // A retried claim, or another run's claim, may already have taken it.
  if (await ownWaitTaken(deps, own)) return { opened };
  for (let take = 0; take < MAX_TAKES; take++) {
    const task = await deps.waits.take();
    if (task) {
      const wait = await openTaken(deps, task);
      opened += 1;
      if (wait?.runId === own.runId && wait.waitId === own.waitId) return { opened };
    }
    if (await ownWaitTaken(deps, own)) return { opened };
    if (deps.clock.now() - started >= LAST_POLL_AFTER_MS) break;
  }
  throw new WaitNotOpened(own);
}

/** Taken (its opener marked the run) — or moot: the run has ended. */
async function ownWaitTaken(deps: StageDeps, own: WaitInput): Promise<boolean> {
  const run = await deps.store.getRun(own.runId);
  return !run || isTerminal(run.status) || run.openWaitId === own.waitId;
}

/**
 * Opens one taken wait. An opener's failure fails that wait's task with the opener's error, as a
 * failing callback Lambda would have done; the claim itself goes on.
 */
async function openTaken(deps: StageDeps, task: ClaimedWait): Promise<WaitInput | undefined> {
  const input = WaitInput.safeParse(parseJson(task.input));
  if (!input.success) {
    deps.log.error('an activity task that is not a pipeline wait');
    await deps.workflow.sendTaskFailure(
      task.taskToken,
      'InvalidWait',
      'the wait activity task does not name a known wait and run',
    );
    return undefined;
  }
  const wait = input.data;
  try {
    await WAIT_OPENERS[wait.stage](deps, wait.runId, task.taskToken, wait.waitId);
  } catch (error) {
    const name = error instanceof Error && error.name ? error.name : 'Error';
    const cause = error instanceof Error ? error.message : String(error);
    deps.log.warn('wait could not be opened', { stage: wait.stage, runId: wait.runId, error: name });
    const accepted = await deps.workflow.sendTaskFailure(
      task.taskToken,
      name.slice(0, MAX_ERROR_CHARS),
      cause.slice(0, MAX_CAUSE_CHARS),
    );
    if (!accepted)
      deps.log.warn('the failed wait had already ended', { stage: wait.stage, runId: wait.runId });
  }
  return wait;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
