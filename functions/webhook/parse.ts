import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { errorResponse, type HttpResult, header } from '../shared/http';
import type { Delivery } from './deliveries';

const DELIVERY_ID = /^[A-Za-z0-9._-]{1,100}$/;
/** GitHub event names: lower case, digits (`projects_v2_item`) and underscores. */
const EVENT_NAME = /^[a-z][a-z0-9_]{0,59}$/;

export type Parsed =
  | { ok: true; delivery: Delivery; eventName: string; payload: unknown }
  | { ok: false; response: HttpResult };

/** A verified body's delivery: its headers and JSON payload, or 400. No I/O. */
export function parseDelivery(event: APIGatewayProxyEventV2, body: string, requestId: string): Parsed {
  const eventName = header(event, 'x-github-event') ?? '';
  const deliveryId = header(event, 'x-github-delivery') ?? '';
  if (!EVENT_NAME.test(eventName) || !DELIVERY_ID.test(deliveryId)) {
    return badRequest('missing or malformed X-GitHub-Event / X-GitHub-Delivery', requestId);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return badRequest('body is not JSON', requestId);
  }
  const action = (payload as { action?: unknown } | null)?.action;
  const delivery: Delivery = {
    id: deliveryId,
    event: typeof action === 'string' ? `${eventName}.${action}`.slice(0, 100) : eventName,
  };
  return { ok: true, delivery, eventName, payload };
}

const badRequest = (message: string, requestId: string): Parsed => ({
  ok: false,
  response: errorResponse(400, 'BadRequest', message, requestId),
});
