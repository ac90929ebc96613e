import { checksWaitKeyOf, isTerminal, repoRefOf, type Run } from './domain/run';
import type { ApprovalStore, GitHub, Log, RunStore, WaitKind, WaitStore } from './ports';
import { mutateRun } from './run-state';

/**
 * What is left of a run once it ends, cleaned up the same way whoever ends it (the pipeline's
 * finalize and revert, a cancel from the API or `/factory cancel`, a publish that finds its run
 * cancelled under it). Every step tolerates having been done already.
 */
export interface CleanupDeps {
  store: RunStore & WaitStore & ApprovalStore;
  github: GitHub;
  log: Log;
  /** ISO timestamp. */
  now(): string;
}

/**
 * The run's own pending waits are taken, so a late reply, CI result or click finds nothing, and
 * its pending approval links are superseded. Waits are keyed by issue or commit: only this run's
 * own are taken.
 */
export async function releaseWaitsAndApprovals(
  deps: CleanupDeps,
  run: Run,
): Promise<{ waitsReleased: number; approvalsSuperseded: number }> {
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
    if (await deps.store.decideApproval(approval.approvalId, { state: 'SUPERSEDED', decidedAt: deps.now() }))
      approvalsSuperseded += 1;
  }
  return { waitsReleased, approvalsSuperseded };
}

export interface Withdrawal {
  prClosed?: number;
  /** Left open as a draft instead (`on_failure: draft`). */
  prDrafted?: number;
  branchDeleted?: string;
  /** Not deleted: it holds a STOPPED run's kept work, which `/factory retry` resumes from. */
  branchKept?: string;
  /** What could not be done (the run's end stands; a person can finish it by hand). */
  failed?: string[];
}

/**
 * Takes back a change that will not be merged: closes the run's PR if it is still open and deletes
 * its branch, so the next run on the issue starts from the default branch, not from this one.
 * Both only while they still hold this run's head commit; a merged PR and its branch are left alone.
 */
export async function withdrawChange(
  deps: CleanupDeps,
  run: Pick<Run, 'runId' | 'repo' | 'workItemKey' | 'prNumber' | 'branch' | 'headSha'>,
): Promise<Withdrawal> {
  const repo = repoRefOf(run.repo);
  const done: Withdrawal = {};
  const failed: string[] = [];
  let merged = false;
  if (run.prNumber) {
    try {
      const pull = await deps.github.getPull(repo, run.prNumber);
      merged = pull.merged;
      // Only this run's own change: a PR a later run took over (new head) is that run's business.
      if (pull.state === 'open' && !pull.merged && pull.headSha === run.headSha) {
        await deps.github.updatePull(repo, run.prNumber, { state: 'closed' });
        done.prClosed = run.prNumber;
      }
    } catch (error) {
      failed.push(`close PR #${run.prNumber}`);
      deps.log.warn('could not close the PR of an ended run', { runId: run.runId, error: errorName(error) });
    }
  }
  if (run.branch && run.headSha && !merged && !failed.length) {
    try {
      // Every run on an issue uses the same branch name: delete it only while it still holds
      // this run's commit, never a later run's (a repeated cancel) or someone's push.
      const ours = (await deps.github.getRef(repo, `heads/${run.branch}`)) === run.headSha;
      if (ours && (await holdsStoppedCheckpoint(deps, run))) done.branchKept = run.branch;
      else if (ours) {
        await deps.github.deleteRef(repo, `heads/${run.branch}`);
        done.branchDeleted = run.branch;
      }
    } catch (error) {
      failed.push(`delete branch ${run.branch}`);
      deps.log.warn('could not delete the branch of an ended run', {
        runId: run.runId,
        error: errorName(error),
      });
    }
  }
  return failed.length ? { ...done, failed } : done;
}

/** How many of a work item's newest runs are searched for a STOPPED checkpoint (bounded read). */
const CHECKPOINT_LOOKBACK = 20;

/**
 * Does the run's head commit hold the kept work of a STOPPED run of the same work item (the
 * checkpoint `/factory retry` resumes from)? Such a branch outlives the runs that fail on it.
 */
async function holdsStoppedCheckpoint(
  deps: CleanupDeps,
  run: Pick<Run, 'runId' | 'workItemKey' | 'headSha'>,
): Promise<boolean> {
  const { runs } = await deps.store.getWorkItemWithRuns(run.workItemKey, { limit: CHECKPOINT_LOOKBACK });
  return runs.items.some((r) => r.runId !== run.runId && r.status === 'STOPPED' && r.headSha === run.headSha);
}

/**
 * A failed run's PR left for a person (`on_failure: draft`): back to draft, so nobody merges it by
 * mistake, its branch kept. Only while it still holds this run's head commit.
 */
export async function keepAsDraft(
  deps: CleanupDeps,
  run: Pick<Run, 'runId' | 'repo' | 'prNumber' | 'headSha'>,
): Promise<Withdrawal> {
  if (!run.prNumber) return {};
  const repo = repoRefOf(run.repo);
  try {
    const pull = await deps.github.getPull(repo, run.prNumber);
    if (pull.state !== 'open' || pull.merged || pull.headSha !== run.headSha) return {};
    if (!pull.draft) await deps.github.convertToDraft(repo, run.prNumber);
    return { prDrafted: run.prNumber };
  } catch (error) {
    deps.log.warn('could not turn the PR of a failed run into a draft', {
      runId: run.runId,
      error: errorName(error),
    });
    return { failed: [`turn PR #${run.prNumber} into a draft`] };
  }
}

// ---------------------------------------------------------------------------------------------
// The status comment: ONE comment per run on the issue, updated in place at the moments a person
// cares about (plan, questions, PR opened, failure, result) instead of a comment for every step.
// ---------------------------------------------------------------------------------------------

const STATUS_LINE: Record<string, string> = {
  QUEUED: 'queued',
  PLANNING: 'planning',
  AWAITING_CLARIFICATION: 'waiting for your answers',
  IMPLEMENTING: 'implementing',
  VERIFYING: 'waiting for CI',
  REVIEWING: 'reviewing',
  AWAITING_APPROVAL: 'waiting for approval',
  MERGING: 'merging',
  SUCCEEDED: 'merged',
  FAILED: 'failed',
  BLOCKED: 'blocked',
  REJECTED: 'rejected',
  EXPIRED: 'approval expired',
  TIMED_OUT: 'timed out waiting for answers',
  CANCELLED: 'cancelled',
  STOPPED: 'stopped (work kept)',
  SUPERSEDED: 'superseded by a follow-up',
};

/** A rescue merges nothing and keeps no draft: green, its PR's checks pass. */
const RESCUE_LINE: Partial<Record<string, string>> = { SUCCEEDED: 'checks pass', STOPPED: 'stopped' };
const statusLineOf = (run: Run): string =>
  (run.kind === 'rescue' ? RESCUE_LINE[run.status] : undefined) ??
  STATUS_LINE[run.status] ??
  run.status.toLowerCase();

export const STATUS_COMMENT_MARKER = '<!-- code-factory:status -->';

export function renderStatus(run: Run, detail?: string): string {
  const lines = [
    STATUS_COMMENT_MARKER,
    `**Code Factory** ${run.kind === 'rescue' ? 'rescue run' : 'run'} \`${run.runId}\`: ${statusLineOf(run)}`,
    '',
  ];
  if (run.planSummary) lines.push(`**Plan:** ${run.planSummary}`, '');
  if (run.prUrl) lines.push(`**Pull request:** ${run.prUrl}`, '');
  // Until CI passes again: the last failure, as the `fast` alias read it in the logs.
  if (run.feedback?.kind === 'checks' && run.feedback.summary)
    lines.push('**Last CI failure**, summarised from the logs:', fenced(run.feedback.summary), '');
  if (detail) lines.push(detail, '');
  const cost = run.ledger.costUsd;
  lines.push(`Cost so far: $${cost.toFixed(2)} · ${run.ledger.llmCalls} model calls`);
  return lines.join('\n');
}

/** Creates or updates the run's status comment. Never fails the caller: comments are courtesy. */
export async function updateStatusComment(deps: CleanupDeps, run: Run, detail?: string): Promise<void> {
  if (!run.issueNumber) return;
  // A review run answers with its review: the PR hears from it otherwise only when it fails.
  if (run.kind === 'review' && (!isTerminal(run.status) || run.status === 'SUCCEEDED')) return;
  const repo = repoRefOf(run.repo);
  const body = renderStatus(run, detail);
  try {
    if (run.statusCommentId) {
      await deps.github.updateComment(repo, run.statusCommentId, body);
      return;
    }
    const { id } = await deps.github.createComment(repo, run.issueNumber, body);
    await mutateRun(deps, run.runId, (current) =>
      current.statusCommentId ? undefined : { statusCommentId: id },
    );
  } catch (error) {
    deps.log.warn('could not update the status comment', { runId: run.runId, error: errorName(error) });
  }
}

/**
 * Text from people or tools (a reject reason, an error cause) shown as a quoted code block in a
 * GitHub comment: a fence longer than any backtick run inside it, so the text cannot close it and
 * nothing in it renders (no HTML, images or @mentions).
 */
export function fenced(text: string): string {
  const longestRun = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}text\n${text}\n${fence}`;
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');
