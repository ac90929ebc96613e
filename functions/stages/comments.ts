import type { Run } from '../shared/domain/run';
import type { StageDeps } from './deps';
import { mutateRun } from '../shared/run-state';

/**
 * The factory keeps ONE comment per run on the issue and updates it in place at the moments a
 * person cares about (plan, questions, PR opened, failure, result), instead of adding a comment
 * for every step. Questions are a separate comment, since people reply to them.
 */

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
};

export const MARKER = '<!-- code-factory:status -->';

export function renderStatus(run: Run, detail?: string): string {
  const lines = [
    MARKER,
    `**Code Factory** run \`${run.runId}\`: ${STATUS_LINE[run.status] ?? run.status.toLowerCase()}`,
    '',
  ];
  if (run.planSummary) lines.push(`**Plan:** ${run.planSummary}`, '');
  if (run.prUrl) lines.push(`**Pull request:** ${run.prUrl}`, '');
  if (detail) lines.push(detail, '');
  const cost = run.ledger.costUsd;
  lines.push(`Cost so far: $${cost.toFixed(2)} · ${run.ledger.llmCalls} model calls`);
  return lines.join('\n');
}

/** Creates or updates the run's status comment. Never fails the stage: comments are courtesy. */
export async function updateStatusComment(deps: StageDeps, run: Run, detail?: string): Promise<void> {
  if (!run.issueNumber) return;
  const repo = deps.repoOf(run);
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
    deps.log.warn('could not update the status comment', {
      runId: run.runId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
