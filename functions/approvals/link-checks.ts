import { verifyLink } from '../shared/approval-links';
import { isTerminal, type Run } from '../shared/domain/run';
import type { ApprovalRecord } from '../shared/ports';
import { contractOf } from '../shared/run-contract';
import { type ApprovalsPorts, signingKeyOf } from './context';
import { Refusal } from './refusals';

type CheckPorts = Pick<ApprovalsPorts, 'store' | 'clock' | 'secrets' | 'settings'>;

/** The checks the page (GET) and the decision (POST) share, in order. Throws a Refusal; writes nothing. */
export async function checkLink(ports: CheckPorts, record: ApprovalRecord, token: string): Promise<Run> {
  if (!verifyLink(await signingKeyOf(ports), record, token)) throw new Refusal('bad-link-token');
  return checkState(ports, record);
}

/** Whether a genuine link can still decide: pending, in time, its approver listed, its run waiting on its head. */
export async function checkState(ports: CheckPorts, record: ApprovalRecord): Promise<Run> {
  const { store, clock } = ports;
  if (record.state === 'SUPERSEDED') {
    // Superseded because the run ended (cancelled, failed, expired) says more than "replaced".
    const run = await store.getRun(record.runId);
    // A follow-up that took over the PR replaced the link too: the run did not just end.
    const decidedByOthers =
      run?.status === 'SUCCEEDED' || run?.status === 'REJECTED' || run?.status === 'SUPERSEDED';
    throw new Refusal(run && isTerminal(run.status) && !decidedByOthers ? 'run-not-waiting' : 'superseded');
  }
  if (record.state !== 'PENDING') throw new Refusal('already-decided');
  if (clock.now() >= record.expiresAt * 1000) throw new Refusal('expired');
  const run = await store.getRun(record.runId);
  if (!run) throw new Refusal('not-found');
  if (!approversOf(ports, run).includes(record.approver.toLowerCase()))
    throw new Refusal('approver-not-listed');
  if (run.status !== 'AWAITING_APPROVAL') throw new Refusal('run-not-waiting');
  if (run.headSha !== record.headSha) throw new Refusal('stale-head');
  return run;
}

/** The run contract's approvers, else the deployment's; lower-cased logins. */
function approversOf(ports: Pick<ApprovalsPorts, 'settings'>, run: Run): string[] {
  let listed: Array<{ login: string }> = [];
  try {
    listed = contractOf(run).approvers;
  } catch {
    listed = [];
  }
  return (listed.length > 0 ? listed : ports.settings.defaultApprovers).map((a) => a.login.toLowerCase());
}
