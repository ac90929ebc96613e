import { FactoryError } from '../shared/errors';
import { isTerminal, type Run, type RunStatus, RunStatus as RunStatusSchema } from '../shared/domain/run';
import { fenced, releaseWaitsAndApprovals, type Withdrawal, withdrawChange } from '../shared/run-cleanup';
import { updateStatusComment } from './comments';
import type { StagePorts } from './deps';
import { closeOpenStage, mutateRun } from '../shared/run-state';

/** `$.error` as Step Functions hands it over: Cause is often the Lambda error as JSON. */
export interface StateError {
  Error?: string;
  Cause?: string;
}

export function errorOf(error: StateError | null | undefined): { class: string; cause: string } | undefined {
  if (!error?.Error) return undefined;
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // not JSON: keep the text
  }
  return { class: error.Error.slice(0, 100), cause: cause.slice(0, 4000) };
}

const DETAIL: Partial<Record<RunStatus, string>> = {
  BLOCKED: 'The work is blocked.',
  TIMED_OUT: 'Nobody answered the questions in time.',
  REJECTED: 'An approver rejected the change.',
  EXPIRED: 'Nobody approved the change in time.',
  CANCELLED: 'The run was cancelled.',
};

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
 * the error class and cause, closing the timeline and updating the issue comment.
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
  const { waitsReleased, approvalsSuperseded } = await releaseWaitsAndApprovals(deps, run);
  // A change nobody will merge is taken back (PR closed, branch deleted); a FAILED run's PR stays
  // for a person to pick up unless revert already withdrew it.
  const withdrawn = WITHDRAWN_ON.has(run.status) ? await withdrawChange(deps, run) : {};
  await deps.store.appendEvent(runId, {
    type: 'run.finished',
    actor: 'stage-runner',
    data: {
      status: run.status,
      error: run.error?.class,
      costUsd: run.ledger.costUsd,
      ...(waitsReleased > 0 ? { waitsReleased } : {}),
      ...(approvalsSuperseded > 0 ? { approvalsSuperseded } : {}),
      ...withdrawn,
    },
  });
  await updateStatusComment(deps, run, statusDetail(run, withdrawn));
  // The execution fails too, so the ExecutionsFailed alarm shows it.
  if (unverified && run.status === 'FAILED') throw unverified;
  return { status: run.status };
}

const WITHDRAWN_ON = new Set<RunStatus>(['REJECTED', 'EXPIRED', 'CANCELLED']);

/** A stopped run's work is on its draft PR (keep-work.ts), or there was none to keep. */
const stoppedDetail = (run: Run): string =>
  run.prUrl
    ? 'The run stopped before it could finish. Its work so far is on the draft pull request, with a note on where it stopped and what is left.'
    : 'The run stopped before it could finish; it had no change to keep.';

/** The closing words of the status comment. Causes are quoted: they may hold a person's text. */
export function statusDetail(run: Run, withdrawn: Withdrawal = {}): string | undefined {
  if (run.status === 'SUCCEEDED') {
    return `Done: merged${run.mergedSha ? ` as ${run.mergedSha.slice(0, 7)}` : ''}. Total cost $${run.ledger.costUsd.toFixed(2)}.`;
  }
  const closed = withdrawn.prClosed ? ' The pull request was closed and its branch deleted.' : '';
  const headline = `${run.status === 'STOPPED' ? stoppedDetail(run) : (DETAIL[run.status] ?? '**Failed.**')}${closed}`;
  if (!run.error) return headline;
  // A timeout's cause is just its class again: say what it means instead of repeating it.
  const cause = run.error.cause && run.error.cause !== run.error.class ? `\n${fenced(run.error.cause)}` : '';
  return `${headline} (${run.error.class})${cause}`;
}
