import type { Run } from '../shared/domain/run';
import type { ApprovalDecision, ApprovalRecord } from '../shared/ports';
import { mutateRun } from '../shared/run-state';
import type { ApprovalsPorts } from './context';

/**
 * Writes a won decision on the run (the approved head, or the rejection merge and finalize will
 * need), then answers the approval task. Returns whether the task took the answer: a run that
 * stopped waiting meanwhile (cancelled, its head moved) is not answered.
 */
export async function deliverDecision(
  ports: Pick<ApprovalsPorts, 'store' | 'workflow'>,
  run: Run,
  record: ApprovalRecord,
  decision: ApprovalDecision,
  comment: string,
  taskToken: string,
): Promise<boolean> {
  const cause = comment || `rejected by ${record.approver}`;
  let stillWaiting = true;
  await mutateRun({ store: ports.store }, run.runId, (current) => {
    stillWaiting = current.status === 'AWAITING_APPROVAL' && current.headSha === record.headSha;
    if (!stillWaiting) return undefined;
    return decision === 'approve'
      ? { approvedSha: record.headSha, approvedBy: record.approver }
      : { error: { class: 'Rejected', cause: cause.slice(0, 4000) } };
  });
  if (!stillWaiting) return false;
  return decision === 'approve'
    ? ports.workflow.sendTaskSuccess(taskToken, { decision: 'approve', approver: record.approver })
    : ports.workflow.sendTaskFailure(taskToken, 'Rejected', cause);
}
