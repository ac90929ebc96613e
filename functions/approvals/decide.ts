import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type HttpResult, header, rawBody, rawBodyLength } from '../shared/http';
import { metrics } from '../shared/middleware';
import type { PendingWait } from '../shared/ports';
import { repoOf } from '../shared/run-contract';
import { type ApprovalsPorts, signingKeyOf } from './context';
import { deliverDecision } from './deliver';
import { announceDecision, audit, supersedeOthers } from './follow-up';
import { readDecisionForm } from './form';
import { checkState } from './link-checks';
import { originOf, originVerdict } from './origin';
import { htmlResponse, outcomePage } from './pages';
import { Refusal, refusalResponse } from './refusals';
import { summaryOf } from './summary';

// A 2000-character comment in a non-Latin script is ~18 KB once form-encoded (9 bytes a character).
const DEFAULT_MAX_BODY_BYTES = 32 * 1024;
const MAX_USER_AGENT_CHARS = 500;
const MAX_ORIGIN_CHARS = 200;

/**
 * POST /approvals/{id}: decides exactly once. The form and the link are checked, then the run's
 * wait is taken (one conditional delete, so one request of any approver wins), the link decided,
 * the run told. Every refusal is audited and leaves the task token alone.
 */
export async function submitDecision(
  ports: ApprovalsPorts,
  event: APIGatewayProxyEventV2,
  approvalId: string,
  requestId: string,
): Promise<HttpResult> {
  const { store, github, clock, log } = ports;
  const userAgent = (header(event, 'user-agent') ?? event.requestContext?.http?.userAgent ?? '').slice(
    0,
    MAX_USER_AGENT_CHARS,
  );
  if (rawBodyLength(event) > (ports.settings.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES))
    return refusalResponse('too-large', requestId, false);
  const contentType = (header(event, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded')
    return refusalResponse('unsupported-media-type', requestId, false);
  const record = await store.getApproval(approvalId);
  if (!record) return refusalResponse('not-found', requestId, false);
  const form = new URLSearchParams(rawBody(event).toString('utf8'));

  let taken: PendingWait | undefined;
  let decidedHere = false;
  try {
    // A browser told us the form came from elsewhere: refuse before looking at any token.
    if (originVerdict(event, originOf(ports.settings.publicBaseUrl)) === 'cross-origin')
      throw new Refusal('cross-origin');
    const { decision, comment } = readDecisionForm(await signingKeyOf(ports), record, form);
    const run = await checkState(ports, record);
    if (!(await store.getWait('approval', run.runId))) throw new Refusal('run-not-waiting');
    if (!run.prNumber) throw new Refusal('run-not-waiting');
    const pull = await github.getPull(repoOf(run), run.prNumber);
    if (pull.state !== 'open' || pull.headSha !== record.headSha) throw new Refusal('stale-head');

    taken = await store.takeWait('approval', run.runId);
    if (!taken) throw new Refusal('run-not-waiting');
    const decidedAt = new Date(clock.now()).toISOString();
    decidedHere = await store.decideApproval(approvalId, {
      state: decision === 'approve' ? 'APPROVED' : 'REJECTED',
      decidedAt,
      ...(comment ? { comment } : {}),
      ...(userAgent ? { userAgent } : {}),
    });
    if (!decidedHere) throw new Refusal('already-decided');
    const delivered = await deliverDecision(ports, run, record, decision, comment, taken.taskToken);
    taken = undefined; // answered (or undeliverable): never restore it

    await supersedeOthers(ports, run.runId, approvalId, decidedAt);
    await audit(ports, run.runId, 'approval.decided', record.approver, {
      approver: record.approver,
      decision,
      at: decidedAt,
      comment: comment || undefined,
      userAgent,
      headSha: record.headSha,
      delivered,
    });
    await announceDecision(ports, run, record, decision, comment);
    metrics.addMetric(`Approval_${decision}`, 'Count', 1);
    log.info('approval decided', {
      requestId,
      runId: run.runId,
      approver: record.approver,
      decision,
      delivered,
    });
    const page = outcomePage({
      ...summaryOf(record, run),
      decision,
      delivered,
      ...(comment ? { comment } : {}),
    });
    return htmlResponse(200, page, requestId, false);
  } catch (error) {
    if (taken && !decidedHere) {
      // Nothing was decided: put the wait back so another approver (or a retry) can decide.
      await store.putWait(taken).catch(() => undefined);
    }
    if (!(error instanceof Refusal)) throw error;
    const origin = header(event, 'origin')?.slice(0, MAX_ORIGIN_CHARS);
    await audit(ports, record.runId, 'approval.refused', 'approval-link', {
      approver: record.approver,
      reason: error.reason,
      userAgent,
      ...(error.reason === 'cross-origin' && origin !== undefined ? { origin } : {}),
    });
    log.info('approval refused', { requestId, runId: record.runId, reason: error.reason });
    return refusalResponse(error.reason, requestId, false);
  }
}
