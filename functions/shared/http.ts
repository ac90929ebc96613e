import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * API Gateway (HTTP API, payload v2) response helpers shared by the webhook, API and approvals
 * handlers: success bodies are `{ "data": … }`, errors `{ "error": { code, message, request_id } }`,
 * and every response carries `X-Request-Id` (the API Gateway request id, so a caller's report can
 * be matched with the logs).
 */
export type HttpResult = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
};

/** Stable error codes callers can branch on. */
export type ErrorCode =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'ValidationError'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable';

const JSON_TYPE = 'application/json; charset=utf-8';

export const requestIdOf = (event: Pick<APIGatewayProxyEventV2, 'requestContext'>): string =>
  event.requestContext?.requestId ?? 'unknown';

const respond = (statusCode: number, body: unknown, requestId: string, headers: Record<string, string>) => ({
  statusCode,
  headers: { 'content-type': JSON_TYPE, 'x-request-id': requestId, ...headers },
  body: JSON.stringify(body),
});

export function jsonResponse(statusCode: number, data: unknown, requestId: string, headers = {}): HttpResult {
  return respond(statusCode, { data }, requestId, headers);
}

export function errorResponse(
  statusCode: number,
  code: ErrorCode,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): HttpResult {
  return respond(statusCode, { error: { code, message, request_id: requestId } }, requestId, headers);
}

/** The request body exactly as received: API Gateway base64-encodes non-text bodies. */
export function rawBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/**
 * Byte length of the body without decoding it, so an oversized request is refused before any
 * work (base64 length is 4/3 of the bytes, minus padding).
 */
export function rawBodyLength(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): number {
  const body = event.body ?? '';
  if (!event.isBase64Encoded) return Buffer.byteLength(body, 'utf8');
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

/** Header lookup that tolerates callers (tests, other proxies) that did not lower-case names. */
export function header(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const headers = event.headers ?? {};
  return headers[wanted] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === wanted)?.[1];
}
