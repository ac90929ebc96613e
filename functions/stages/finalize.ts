import {
  checksWaitKeyOf,
  isTerminal,
  type Run,
  type RunStatus,
  RunStatus as RunStatusSchema,
} from '../shared/domain/run';
import type { WaitKind } from '../shared/ports';
import { updateStatusComment } from './comments';
import type { StageDeps } from './deps';
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
 * finalize: every path of the state machine ends here, writing a definite terminal status with
 * the error class and cause, closing the timeline and updating the issue comment.
 */
export async function finalize(
  deps: StageDeps,
  runId: string,
  status: string,
  error: StateError | null | undefined,
): Promise<{ status: RunStatus }> {
  const target = RunStatusSchema.parse(status);
  if (!isTerminal(target)) throw new Error(`finalize needs a terminal status, got ${status}`);
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
  const leftovers = await releaseLeftovers(deps, run, at);
  await deps.store.appendEvent(runId, {
    type: 'run.finished',
    actor: 'stage-runner',
    data: { status: run.status, error: run.error?.class, costUsd: run.ledger.costUsd, ...leftovers },
  });
  if (run.status === 'REJECTED' && run.prNumber) {
    const pull = await deps.github.getPull(deps.repoOf(run), run.prNumber).catch(() => undefined);
    if (pull?.state === 'open')
      await deps.github.updatePull(deps.repoOf(run), run.prNumber, { state: 'closed' });
  }
  const detail =
    run.status === 'SUCCEEDED'
      ? `Done: merged${run.mergedSha ? ` as ${run.mergedSha.slice(0, 7)}` : ''}. Total cost $${run.ledger.costUsd.toFixed(2)}.`
      : run.error
        ? `${DETAIL[run.status] ?? '**Failed.**'} (${run.error.class})\n\`\`\`\n${run.error.cause}\n\`\`\``
        : DETAIL[run.status];
  await updateStatusComment(deps, run, detail);
  return { status: run.status };
}

/**
 * A run that ended (timed out, expired, failed) leaves nothing to resume: its own pending waits
 * are taken, so a late reply, CI result or click finds nothing, and its pending approval links
 * are superseded. Waits are keyed by issue or commit: only this run's own are taken.
 */
async function releaseLeftovers(
  deps: StageDeps,
  run: Run,
  at: string,
): Promise<{ waitsReleased?: number; approvalsSuperseded?: number }> {
  const waits: Array<[WaitKind, string]> = [
    ['approval', run.runId],
    ['clarify', run.workItemKey],
  ];
  if (run.headSha) waits.push(['checks', checksWaitKeyOf(run.repo, run.headSha)]);
  let waitsReleased = 0;
  for (const [kind, key] of waits) {
    const wait = await deps.store.getWait(kind, key);
    if (wait?.runId === run.runId && (await deps.store.takeWait(kind, key))) waitsReleased += 1;
  }
  let approvalsSuperseded = 0;
  for (const approval of await deps.store.listApprovalsForRun(run.runId)) {
    if (approval.state !== 'PENDING') continue;
    if (await deps.store.decideApproval(approval.approvalId, { state: 'SUPERSEDED', decidedAt: at }))
      approvalsSuperseded += 1;
  }
  return {
    ...(waitsReleased > 0 ? { waitsReleased } : {}),
    ...(approvalsSuperseded > 0 ? { approvalsSuperseded } : {}),
  };
}
