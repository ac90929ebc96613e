import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { formToken, isDecision, MAC_TOKEN } from '../shared/approval-links';
import type { HttpResult } from '../shared/http';
import type { ApprovalDecision } from '../shared/ports';
import { type ApprovalsPorts, signingKeyOf } from './context';
import { checkLink } from './link-checks';
import { confirmPage, htmlResponse } from './pages';
import { Refusal, refusalResponse } from './refusals';
import { summaryOf } from './summary';

/**
 * GET|HEAD /approvals/{id}?t=…&d=…: the confirmation page, with one signed form per decision.
 * It writes nothing, not even an audit event: mail scanners follow links.
 */
export async function showDecisionForm(
  ports: ApprovalsPorts,
  event: APIGatewayProxyEventV2,
  approvalId: string,
  requestId: string,
  headOnly: boolean,
): Promise<HttpResult> {
  const query = event.queryStringParameters ?? {};
  const token = query.t ?? '';
  const preselected: ApprovalDecision = isDecision(query.d) ? query.d : 'approve';
  if (!MAC_TOKEN.test(token)) return refusalResponse('bad-link-token', requestId, headOnly);
  const record = await ports.store.getApproval(approvalId);
  if (!record) return refusalResponse('not-found', requestId, headOnly);
  try {
    const run = await checkLink(ports, record, token);
    const signingKey = await signingKeyOf(ports);
    const html = confirmPage({
      ...summaryOf(record, run),
      approvalId,
      linkToken: token,
      preselected,
      formTokens: {
        approve: formToken(signingKey, approvalId, token, 'approve'),
        reject: formToken(signingKey, approvalId, token, 'reject'),
      },
    });
    return htmlResponse(200, html, requestId, headOnly);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    ports.log.info('approval page refused', { requestId, runId: record.runId, reason: error.reason });
    return refusalResponse(error.reason, requestId, headOnly);
  }
}
