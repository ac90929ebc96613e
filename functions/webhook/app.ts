import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type HttpResult, jsonResponse, requestIdOf } from '../shared/http';
import { metrics, withHttpMiddleware } from '../shared/middleware';
import { cancelActiveRun } from './cancel';
import { resumeChecks } from './checks';
import { type WebhookContext, type WebhookPorts, webhookContext } from './context';
import { type Delivery, ignored, type Outcome } from './deliveries';
import { startFollowUp } from './follow-up';
import { failApprovalOnHeadMoved } from './head-moved';
import { answerHelp, answerUnknownCommand } from './help';
import { parseDelivery } from './parse';
import { resumeClarification } from './reply';
import { isTriggerLabel, startTriggeredRun } from './start';
import { classify, type Intent } from './triggers';
import { verifySignedBody } from './verify';

export type { WebhookConfig, WebhookPorts } from './context';

/**
 * POST /v1/webhooks/github: the front door. The ack path does only verify → record → start/resume;
 * everything slow (reading the repo's contract, planning, commenting progress) happens in the
 * pipeline. See docs/decisions/0001-webhook-ack-path.md for the request budget and the rules.
 */
export function createWebhookHandler(ports: WebhookPorts) {
  const ctx = webhookContext(ports);
  return withHttpMiddleware((event) => handleWebhook(ctx, event));
}

async function handleWebhook(ctx: WebhookContext, event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const requestId = requestIdOf(event);
  const startedAt = ctx.clock.now();

  const verified = await verifySignedBody(ctx, event, requestId);
  if (!verified.ok) return verified.response;
  const parsed = parseDelivery(event, verified.body, requestId);
  if (!parsed.ok) return parsed.response;
  const { delivery } = parsed;
  const intent = classify(parsed.eventName, parsed.payload);
  const outcome = await dispatch(ctx, delivery, intent);

  metrics.addMetric(`Webhook_${String(outcome.data.status)}`, 'Count', 1);
  ctx.log.info('webhook handled', {
    requestId,
    deliveryId: delivery.id,
    event: delivery.event,
    outcome: outcome.data.status,
    reason: outcome.data.reason,
    runId: outcome.data.runId,
    ms: ctx.clock.now() - startedAt,
  });
  return jsonResponse(outcome.status, { deliveryId: delivery.id, ...outcome.data }, requestId);
}

async function dispatch(ctx: WebhookContext, delivery: Delivery, intent: Intent): Promise<Outcome> {
  switch (intent.type) {
    case 'ping':
      return { status: 200, data: { status: 'pong' } };
    case 'ignore':
      return ignored(intent.reason);
    case 'labeled':
      if (!(await isTriggerLabel(ctx, intent.repo, intent.label))) return ignored(`label ${intent.label}`);
      return startTriggeredRun(ctx, delivery, intent);
    case 'command':
      if (intent.command === 'help') return answerHelp(ctx, delivery, intent);
      return intent.command === 'cancel'
        ? cancelActiveRun(ctx, delivery, intent)
        : startTriggeredRun(ctx, delivery, intent);
    case 'unknown-command':
      // On a factory PR, any other text after `/factory` is a follow-up instruction.
      return intent.isPull && intent.text
        ? startFollowUp(ctx, delivery, intent)
        : answerUnknownCommand(ctx, delivery, intent);
    case 'changes-requested':
      return startFollowUp(ctx, delivery, intent);
    case 'reply':
      return resumeClarification(ctx, delivery, intent);
    case 'checks-completed':
      return resumeChecks(ctx, delivery, intent);
    case 'head-moved':
      return failApprovalOnHeadMoved(ctx, delivery, intent);
  }
}
