import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { errorResponse, type HttpResult, header, requestIdOf } from '../shared/http';
import { metrics, withHttpMiddleware } from '../shared/middleware';
import { authenticate } from './auth';
import {
  API_DEFAULTS,
  ApiError,
  type ApiPorts,
  type ApiReply,
  type ApiRequest,
  createPageTokens,
  type RouteContext,
} from './context';
import { matchRoute } from './routes';

export type { ApiConfig, ApiPorts } from './context';

/**
 * The /v1 REST API (SPEC §3): one Lambda behind the HTTP API routing on method and path itself,
 * so it works the same behind explicit routes and behind a `/v1/{proxy+}` catch-all.
 * Every answer carries X-Request-Id; GET answers carry an ETag and honour If-None-Match.
 */
export function buildApiCore(ports: ApiPorts) {
  const settings = { ...API_DEFAULTS, ...ports.config };
  const ctx: RouteContext = {
    ...ports,
    settings,
    tokens: createPageTokens(ports),
    iso: () => new Date(ports.clock.now()).toISOString(),
  };

  async function dispatch(event: APIGatewayProxyEventV2, request: ApiRequest): Promise<ApiReply> {
    const match = matchRoute(request.method, request.path);
    if (match.kind === 'not-found') throw new ApiError(404, 'NotFound', `no route for ${request.path}`);
    if (match.kind === 'method-not-allowed') {
      throw new ApiError(405, 'MethodNotAllowed', `use ${match.allow.join(' or ')}`, {
        allow: match.allow.join(', '),
      });
    }
    request.params = match.params;
    if (!match.spec.public) {
      const auth = await authenticate(ports.store, header(event, 'authorization'));
      if (!auth.ok) throw new ApiError(401, 'Unauthorized', auth.message, { 'www-authenticate': 'Bearer' });
      request.principal = auth.principal;
    }
    return match.spec.handle(ctx, request);
  }

  return async function handleApi(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const requestId = requestIdOf(event);
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    const request: ApiRequest = {
      event,
      requestId,
      method,
      path,
      params: {},
      query: { ...(event.queryStringParameters ?? {}) } as Record<string, string>,
    };
    let answer: ApiReply;
    try {
      answer = await dispatch(event, request);
    } catch (error) {
      if (error instanceof ApiError) {
        metrics.addMetric(`Api_${error.status}`, 'Count', 1);
        return errorResponse(error.status, error.code, error.message, requestId, error.headers);
      }
      if (error instanceof Error && error.name === 'ValidationError') {
        // The store refuses what we passed on (e.g. a limit); the message is safe to show.
        return errorResponse(400, 'ValidationError', error.message, requestId);
      }
      ports.log.error('api request failed', {
        requestId,
        method,
        path,
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
      return errorResponse(500, 'InternalError', 'internal error', requestId);
    }
    return render(method, event, answer, requestId);
  };
}

/** JSON body + X-Request-Id; on GET 200 a strong ETag over the exact bytes, and 304 on a match. */
function render(
  method: string,
  event: APIGatewayProxyEventV2,
  answer: ApiReply,
  requestId: string,
): HttpResult {
  const headers: Record<string, string> = { 'x-request-id': requestId, ...(answer.headers ?? {}) };
  if (answer.body === undefined) return { statusCode: answer.status, headers };
  const body = JSON.stringify(answer.body);
  headers['content-type'] = 'application/json; charset=utf-8';
  if (method === 'GET' && answer.status === 200) {
    const etag = `"${createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, 32)}"`;
    headers.etag = etag;
    headers['cache-control'] = 'private, no-cache';
    if (etagMatches(header(event, 'if-none-match'), etag)) {
      delete headers['content-type'];
      return { statusCode: 304, headers };
    }
  }
  return { statusCode: answer.status, headers, body };
}

/** If-None-Match: `*`, or a list of (possibly weak) tags; weak comparison, as RFC 9110 asks for GET. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .includes(etag);
}

/** The Lambda handler: the core inside the shared middy chain. */
export function createApiHandler(ports: ApiPorts) {
  return withHttpMiddleware(buildApiCore(ports));
}
