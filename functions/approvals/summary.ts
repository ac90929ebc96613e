import type { Run } from '../shared/domain/run';
import type { ApprovalRecord } from '../shared/ports';
import { contractOf } from '../shared/run-contract';
import type { ChangeSummary } from './pages';

/** What both pages show about the change an approval is for. */
export function summaryOf(record: ApprovalRecord, run: Run): ChangeSummary {
  let risky: string[] = [];
  try {
    risky = contractOf(run).riskyPermissions;
  } catch {
    risky = [];
  }
  return {
    repo: run.repo,
    ...(run.prNumber !== undefined ? { prNumber: run.prNumber } : {}),
    ...(run.prUrl ? { prUrl: run.prUrl } : {}),
    headSha: record.headSha,
    ...(run.issueTitle ? { issueTitle: run.issueTitle } : {}),
    ...(run.planSummary ? { planSummary: run.planSummary } : {}),
    approver: record.approver,
    expiresAt: new Date(record.expiresAt * 1000),
    riskyPermissions: risky,
  };
}
