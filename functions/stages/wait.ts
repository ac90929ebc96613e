import * as z from 'zod';
import { isTerminal, RunId } from '../shared/domain/run';
import { FactoryError } from '../shared/errors';
import { parseJson, takeUntilOwn } from './activity-claim';
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
 * the wait activity and open each, until this run's wait (`own`) has been taken
 * (activity-claim.ts). An opener's failure fails that wait's task with the opener's error, as a
 * failing callback Lambda would have done. The result is only a count: nothing of another run
 * enters this run's history.
 */
export async function claimWait(deps: StageDeps, own: WaitInput): Promise<{ opened: number }> {
  const opened = await takeUntilOwn<WaitInput>({
    tasks: deps.waits,
    clock: deps.clock,
    workflow: deps.workflow,
    log: deps.log,
    parse: (input) => WaitInput.safeParse(parseJson(input)).data,
    isOwn: (wait) => wait.runId === own.runId && wait.waitId === own.waitId,
    ownTaken: async () => {
      const run = await deps.store.getRun(own.runId);
      return !run || isTerminal(run.status) || run.openWaitId === own.waitId;
    },
    refusal: { error: 'InvalidWait', cause: 'the wait activity task does not name a known wait and run' },
    handle: async (task, wait) => {
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
    },
  });
  if (opened === undefined) throw new WaitNotOpened(own);
  return { opened };
}
