import type { Run } from '../shared/domain/run';
import type { ApprovalDecision, ApprovalRecord } from '../shared/ports';
import { fenced } from '../shared/run-cleanup';
import { repoOf } from '../shared/run-contract';
import type { ApprovalsPorts } from './context';

/** The run's other pending links stop working once one approver decided. */
export async function supersedeOthers(
  ports: Pick<ApprovalsPorts, 'store'>,
  runId: string,
  decidedId: string,
  decidedAt: string,
): Promise<void> {
  const records = await ports.store.listApprovalsForRun(runId);
  for (const other of records) {
    if (other.approvalId === decidedId || other.state !== 'PENDING') continue;
    await ports.store.decideApproval(other.approvalId, { state: 'SUPERSEDED', decidedAt });
  }
}

/** An audit event that never fails the request: the decision is already made, or nothing is. */
export async function audit(
  ports: Pick<ApprovalsPorts, 'store' | 'log'>,
  runId: string,
  type: string,
  actor: string,
  data: Record<string, unknown>,
): Promise<void> {
  try {
    await ports.store.appendEvent(runId, { type, actor, data });
  } catch (error) {
    ports.log.warn('approval audit event failed', {
      runId,
      type,
      error: error instanceof Error ? error.name : 'unknown',
    });
  }
}

/** A comment on the issue and on the PR. Courtesy: a GitHub failure never undoes a decision. */
export async function announceDecision(
  ports: Pick<ApprovalsPorts, 'github' | 'log'>,
  run: Run,
  record: ApprovalRecord,
  decision: ApprovalDecision,
  comment: string,
): Promise<void> {
  const verb = decision === 'approve' ? 'approved' : 'rejected';
  // In a fence, not a quote: the approver's words render as text (no HTML, images or @mentions).
  const quoted = comment ? `\n\n${fenced(comment)}` : '';
  const body = `@${record.approver} ${verb} commit \`${record.headSha.slice(0, 7)}\` of run \`${run.runId}\` from the approval email.${quoted}`;
  const targets = [run.issueNumber, run.prNumber].filter((n): n is number => n !== undefined);
  for (const number of new Set(targets)) {
    try {
      await ports.github.createComment(repoOf(run), number, body);
    } catch (error) {
      ports.log.warn('approval comment failed', {
        runId: run.runId,
        error: error instanceof Error ? error.name : 'unknown',
      });
    }
  }
}
