import { FactoryError } from '../shared/errors';
import { isTerminal, type RunStatus, RunStatus as RunStatusSchema } from '../shared/domain/run';
import { settleEndedRun } from '../shared/end-run';
import { causeText, type StateError } from '../shared/state-error';
import type { StagePorts } from './deps';
import { closeOpenStage, mutateRun } from '../shared/run-state';

export type { StateError } from '../shared/state-error';

export function errorOf(error: StateError | null | undefined): { class: string; cause: string } | undefined {
  if (!error?.Error) return undefined;
  return { class: error.Error.slice(0, 100), cause: causeText(error.Cause ?? '').slice(0, 4000) };
}

/**
 * A REJECTED or CANCELLED path was reached by a task failure that no stored record backs (a
 * forged SendTaskFailure): the run ends FAILED with this, and so does its execution.
 */
export class UnverifiedDecision extends FactoryError {
  constructor(claimed: RunStatus) {
    super(
      'UnverifiedDecision',
      claimed === 'REJECTED'
        ? 'a wait of the run was failed as Rejected, but no approver rejected the change'
        : 'a wait of the run was failed as Cancelled, but nobody cancelled the run',
    );
  }
}

/**
 * REJECTED and CANCELLED come only from a stored human decision or cancel request, never from the
 * error a task was failed with (anyone holding a token could choose it; decision 0004).
 */
async function isBacked(deps: StagePorts, runId: string, target: RunStatus): Promise<boolean> {
  if (target === 'REJECTED')
    return (await deps.store.listApprovalsForRun(runId)).some((a) => a.state === 'REJECTED');
  // A cancel writes CANCELLED before it stops the execution: a live run was never cancelled.
  if (target === 'CANCELLED') return (await deps.store.getRun(runId))?.status === 'CANCELLED';
  return true;
}

/**
 * finalize: every path of the state machine ends here, writing a definite terminal status with
 * the error class and cause, closing the timeline, then settling what the run left (shared/end-run.ts).
 */
export async function finalize(
  deps: StagePorts,
  runId: string,
  status: string,
  stateError: StateError | null | undefined,
): Promise<{ status: RunStatus }> {
  const claimed = RunStatusSchema.parse(status);
  if (!isTerminal(claimed)) throw new Error(`finalize needs a terminal status, got ${status}`);
  const unverified = (await isBacked(deps, runId, claimed)) ? undefined : new UnverifiedDecision(claimed);
  const target: RunStatus = unverified ? 'FAILED' : claimed;
  const error: StateError | null | undefined = unverified
    ? { Error: unverified.name, Cause: unverified.message }
    : stateError;
  const at = deps.now();
  const run = await mutateRun(deps, runId, (r) => {
    if (isTerminal(r.status)) return undefined; // already final (e.g. cancelled meanwhile)
    const fromState = errorOf(error);
    return {
      status: target,
      stages: closeOpenStage(r.stages, at, target === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED'),
      endedAt: at,
      ...(target !== 'SUCCEEDED' && (fromState ?? r.error) ? { error: fromState ?? r.error } : {}),
    };
  });
  await settleEndedRun(deps, run);
  // The execution fails too, so the ExecutionsFailed alarm shows it.
  if (unverified && run.status === 'FAILED') throw unverified;
  return { status: run.status };
}
