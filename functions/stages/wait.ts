import * as z from 'zod';
import { RunId } from '../shared/domain/run';
import { requestApproval } from './approval';
import { waitForChecks } from './checks';
import { awaitClarification } from './clarify';
import type { StageDeps } from './deps';

/** What opens each kind of wait once its token is in hand (the token is stored, never returned). */
export const WAIT_OPENERS = {
  clarify: awaitClarification,
  checks: waitForChecks,
  approval: requestApproval,
} as const satisfies Record<string, (deps: StageDeps, runId: string, taskToken: string) => Promise<void>>;

/** The input `<Name>Wait` schedules the activity task with (statemachines/pipeline.ts). */
const WaitInput = z.object({
  stage: z.enum(Object.keys(WAIT_OPENERS) as [keyof typeof WAIT_OPENERS]),
  runId: RunId,
});

/** Step Functions' SendTaskFailure limits. */
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;

/**
 * wait.claim (states `ClarifyClaim`, `ChecksClaim`, `ApprovalClaim`): take one scheduled wait
 * from the wait activity and open it. The activity is a shared queue, so the wait taken may be
 * another run's (scheduled at the same moment); each run schedules one wait and claims one, so
 * every wait is opened exactly once, by whichever claim takes it. The opener's failure fails
 * that wait's task with the opener's error, as a failing callback Lambda would have done.
 * Returns only whether a wait was taken: nothing of another run enters this run's history.
 */
export async function claimWait(deps: StageDeps, runId: string): Promise<{ claimed: boolean }> {
  const task = await deps.waits.take();
  if (!task) {
    // Another claim took this run's wait and opened it; nothing else was waiting.
    deps.log.info('no wait left to claim', { runId });
    return { claimed: false };
  }
  const input = WaitInput.safeParse(parseJson(task.input));
  if (!input.success) {
    deps.log.error('an activity task that is not a pipeline wait', { runId });
    await deps.workflow.sendTaskFailure(
      task.taskToken,
      'InvalidWait',
      'the wait activity task does not name a known wait and run',
    );
    return { claimed: true };
  }
  const wait = input.data;
  try {
    await WAIT_OPENERS[wait.stage](deps, wait.runId, task.taskToken);
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
  return { claimed: true };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
