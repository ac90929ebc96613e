import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { APPROVAL_ID } from '../shared/approval-links';
import { type HttpResult, requestIdOf } from '../shared/http';
import { metrics, withHttpMiddleware } from '../shared/middleware';
import type { ApprovalsPorts } from './context';
import { submitDecision } from './decide';
import { htmlResponse, refusalPage } from './pages';
import { refusalResponse } from './refusals';
import { showDecisionForm } from './show';

export type { ApprovalsPorts, ApprovalsSettings } from './context';

/**
 * GET|HEAD /approvals/{id}?t=…&d=…  renders a confirmation page and writes nothing (mail scanners
 * follow links); POST /approvals/{id} performs the decision once. Every refusal is a page with a
 * 4xx, audited on POST, and never touches the task token. docs/decisions/0002-approval-links.md.
 */
export function createApprovalsHandler(ports: ApprovalsPorts) {
  const handler = withHttpMiddleware((event) => handleApproval(ports, event));
  return handler as unknown as (
    event: APIGatewayProxyEventV2,
    context: Context,
  ) => Promise<APIGatewayProxyStructuredResultV2>;
}

async function handleApproval(ports: ApprovalsPorts, event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const requestId = requestIdOf(event);
  const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
  const headOnly = method === 'HEAD';
  try {
    const approvalId = event.pathParameters?.id ?? '';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      const page = refusalPage('Method not allowed', 'Use the link from your email.');
      return htmlResponse(405, page, requestId, false, { allow: 'GET, HEAD, POST' });
    }
    if (!APPROVAL_ID.test(approvalId)) return refusalResponse('not-found', requestId, headOnly);
    return method === 'POST'
      ? await submitDecision(ports, event, approvalId, requestId)
      : await showDecisionForm(ports, event, approvalId, requestId, headOnly);
  } catch (error) {
    ports.log.error('approval request failed', {
      requestId,
      error: error instanceof Error ? error.name : 'unknown',
    });
    metrics.addMetric('Approval_error', 'Count', 1);
    const page = refusalPage(
      'Something went wrong',
      'Open the link from your email again in a minute to see whether your decision was recorded.',
    );
    return htmlResponse(500, page, requestId, headOnly);
  }
}
