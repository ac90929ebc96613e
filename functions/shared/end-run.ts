import { costOfRun, formatCostUsd } from './domain/infra-cost';
import type { OnFailure } from './domain/factory-config';
import type { Run, RunError, RunStatus } from './domain/run';
import type { EventStore } from './ports';
import {
  type CleanupDeps,
  fenced,
  keepAsDraft,
  releaseWaitsAndApprovals,
  updateStatusComment,
  type Withdrawal,
  withdrawChange,
} from './run-cleanup';
import { endRunFromOutside } from './run-state';

/**
 * The end of a run, whoever ends it: the state machine's finalize, or (on the embedded stack) the
 * restart sweep failing the runs a dead engine left behind. One path, so GitHub says the same
 * thing however a run ended: waits released, the change taken back, the status comment updated.
 */
export interface EndRunDeps extends CleanupDeps {
  store: CleanupDeps['store'] & EventStore;
}

/** Statuses whose change nobody will merge: taken back (closed, or left a draft on failure). */
const WITHDRAWN_ON = new Set<RunStatus>(['REJECTED', 'EXPIRED', 'CANCELLED', 'FAILED']);

/** `on_failure` from the run's contract snapshot; runs admitted before it existed close. */
export function onFailureOf(run: Pick<Run, 'contract'>): OnFailure {
  const policy = run.contract?.policy as { onFailure?: unknown } | undefined;
  return policy?.onFailure === 'draft' ? 'draft' : 'close';
}

/**
 * Takes back what an ended run opened on GitHub. Only change runs: a run on an existing pull
 * request (review, rescue, follow-up) never closes or deletes anything. A failure under `on_failure: draft`
 * leaves the PR open as a draft, its branch kept.
 */
export async function withdrawEnded(deps: CleanupDeps, run: Run): Promise<Withdrawal> {
  if (run.kind !== 'change' || !WITHDRAWN_ON.has(run.status)) return {};
  if (run.status === 'FAILED' && onFailureOf(run) === 'draft') return keepAsDraft(deps, run);
  return withdrawChange(deps, run);
}

/** Leftovers of a run that has just been written terminal; every step tolerates a repeat. */
export async function settleEndedRun(deps: EndRunDeps, run: Run): Promise<Withdrawal> {
  const { waitsReleased, approvalsSuperseded } = await releaseWaitsAndApprovals(deps, run);
  const withdrawn = await withdrawEnded(deps, run);
  await deps.store.appendEvent(run.runId, {
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
  return withdrawn;
}

/**
 * Ends a run FAILED from outside the state machine (its execution died without reaching
 * finalize), then settles it as finalize would. A run already terminal is left as it is.
 */
export async function failRun(deps: EndRunDeps, runId: string, error: RunError): Promise<Run> {
  const { run, transitioned } = await endRunFromOutside(deps, runId, 'FAILED', error);
  if (transitioned) await settleEndedRun(deps, run);
  return run;
}

const DETAIL: Partial<Record<RunStatus, string>> = {
  BLOCKED: 'The work is blocked.',
  TIMED_OUT: 'Nobody answered the questions in time.',
  REJECTED: 'An approver rejected the change.',
  EXPIRED: 'Nobody approved the change in time.',
  CANCELLED: 'The run was cancelled.',
  SUPERSEDED: 'A follow-up run continues this pull request; this run no longer applies.',
};

/** Ends that a new run may well get past: the comment says how to start one. */
const RETRYABLE = new Set<RunStatus>(['FAILED', 'TIMED_OUT', 'EXPIRED', 'STOPPED']);
const RETRY_HINT = 'Comment `/factory retry` on this issue to start a new run.';
const REVIEW_AGAIN_HINT = 'Comment `/factory review` on this pull request to ask for a review again.';
const RESCUE_AGAIN_HINT = 'Comment `/factory rescue` on this pull request to try again.';
const HINTS: Partial<Record<Run['kind'], string>> = { review: REVIEW_AGAIN_HINT, rescue: RESCUE_AGAIN_HINT };

/** A stopped run's work is on its draft PR (keep-work.ts), or there was none to keep. */
const stoppedDetail = (run: Run): string =>
  run.kind === 'review'
    ? run.reviewId
      ? 'The review stopped before it could finish (out of turns or budget); its partial review on the pull request says what was not reviewed.'
      : 'The review stopped before it could finish (out of turns or budget); no review was posted.'
    : run.prUrl
      ? 'The run stopped before it could finish. Its work so far is on the draft pull request, with a note on where it stopped and what is left.'
      : 'The run stopped before it could finish; it had no change to keep.';

function withdrawnDetail(withdrawn: Withdrawal): string {
  if (withdrawn.prClosed)
    return withdrawn.branchDeleted
      ? ' The pull request was closed and its branch deleted.'
      : ' The pull request was closed; its branch was kept.';
  if (withdrawn.prDrafted) return ' The pull request was left open as a draft, with its branch.';
  return '';
}

/** The closing words of the status comment. Causes are quoted: they may hold a person's text. */
export function statusDetail(run: Run, withdrawn: Withdrawal = {}): string | undefined {
  if (run.status === 'SUCCEEDED' && run.kind === 'rescue') return `${rescuedDetail(run)}\n\n${costLine(run)}`;
  if (run.status === 'SUCCEEDED') {
    return `Done: merged${run.mergedSha ? ` as ${run.mergedSha.slice(0, 7)}` : ''}.\n\n${costLine(run)}`;
  }
  return `${endedDetail(run, withdrawn)}\n\n${costLine(run)}`;
}

/** Model cost from the ledger, infra cost estimated (domain/infra-cost.ts), as the API shows them. */
export function costLine(run: Run): string {
  const cost = costOfRun(run);
  return `Cost: ${formatCostUsd(cost.totalUsd)} (model ${formatCostUsd(cost.modelUsd)} over ${run.ledger.llmCalls} calls, infra ${formatCostUsd(cost.infraUsd)} estimated).`;
}

/** A rescue's commits on the PR's branch, quoted (their subjects are the model's words). */
function pushesOf(run: Run): string {
  const pushes = run.rescue?.pushes ?? [];
  if (pushes.length === 0) return 'Nothing was pushed.';
  const list = pushes.map((p) => `${p.sha.slice(0, 7)} ${p.subject}`).join('\n');
  return `Commits pushed on \`${run.branch ?? '?'}\`:\n${fenced(list)}`;
}

function rescuedDetail(run: Run): string {
  const head = (run.headSha ?? '').slice(0, 7);
  if (!run.rescue?.pushes.length) return `CI passes on the pull request's head ${head}: nothing to fix.`;
  return `Rescued: CI passes on ${head}. ${pushesOf(run)}\nThe pull request stays open for its author and reviewers; nothing was merged.`;
}

/** A rescue's error classes whose cause is what CI still reports (checks.ts). */
const CI_GAVE_UP = new Set(['FixAttemptsExhausted', 'SameFailureRepeated']);

/** How a rescue ended short of green: the PR and its branch are always left as they are. */
const RESCUE_ENDED: Partial<Record<RunStatus, string>> = {
  FAILED: '**Could not make the checks pass.**',
  STOPPED: 'The rescue stopped before it could finish.',
};

function endedDetail(run: Run, withdrawn: Withdrawal): string {
  const rescue = run.kind === 'rescue';
  const ended = (rescue ? RESCUE_ENDED[run.status] : undefined) ?? DETAIL[run.status] ?? '**Failed.**';
  const headline = `${run.status === 'STOPPED' && !rescue ? stoppedDetail(run) : ended}${withdrawnDetail(withdrawn)}`;
  // `/factory retry` starts a change run: a review or a rescue is asked for again by its command.
  const hint = HINTS[run.kind] ?? RETRY_HINT;
  const retry = RETRYABLE.has(run.status) && run.issueNumber ? `\n\n${hint}` : '';
  // What a rescue tried, and (its error's cause) what still fails; its PR is never touched.
  const tried = rescue ? `\n\n${pushesOf(run)}\nThe pull request stays open and its branch as it is.` : '';
  if (!run.error) return `${headline}${tried}${retry}`;
  // A timeout's cause is just its class again: say what it means instead of repeating it.
  const shown = run.error.cause && run.error.cause !== run.error.class;
  const label = rescue && shown ? (CI_GAVE_UP.has(run.error.class) ? '\n\nStill failing:' : '\n\nWhy:') : '';
  const cause = shown ? `${label}\n${fenced(run.error.cause)}` : '';
  return `${headline} (${run.error.class})${tried}${cause}${retry}`;
}
