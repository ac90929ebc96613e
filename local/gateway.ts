import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';

/**
 * The embedded stack's API Gateway (HTTP API, payload format 2.0): node:http on 127.0.0.1 turning
 * each request into the event a Lambda proxy integration receives, calling the same handler the
 * cloud runs, and writing its result back the way API Gateway does.
 *
 * Faithful where handlers depend on it: lower-cased headers (repeats joined with ','), cookies
 * split out of the Cookie header, route keys and path parameters (`{id}`, greedy `{proxy+}`, most
 * specific route wins), the raw body bytes preserved exactly (text as UTF-8, anything else or
 * anything that is not valid UTF-8 as base64 with isBase64Encoded), the 10 MB payload limit (413),
 * the integration timeout (504) with a Lambda-like context counting down, and API Gateway's own
 * `{"message": …}` bodies for its errors.
 */
export type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2 | undefined | unknown>;

export interface GatewayRoute {
  /** HTTP method or 'ANY'. */
  method: string;
  /** e.g. '/v1/webhooks/github', '/v1/runs/{id}', '/v1/{proxy+}'. */
  path: string;
  handler: LambdaHttpHandler;
  /** Overrides the gateway's timeout for this route. */
  timeoutMs?: number;
}

export interface GatewayOptions {
  port?: number;
  routes: GatewayRoute[];
  /** Integration timeout (API Gateway's maximum is 30 s). */
  timeoutMs?: number;
  /** Request body limit; API Gateway's is 10 MB. */
  maxBodyBytes?: number;
  /** Called when a handler throws (the client gets 500 as from API Gateway). */
  onError?: (error: unknown, route: string) => void;
}

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

interface CompiledRoute {
  route: GatewayRoute;
  routeKey: string;
  pattern: RegExp;
  names: string[];
  /** Lower sorts first: exact paths, then fewer parameters, greedy last. */
  rank: number;
}

function compile(route: GatewayRoute): CompiledRoute {
  const names: string[] = [];
  let greedy = false;
  const segments = route.path.split('/').map((segment) => {
    const param = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(segment);
    if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    names.push(param[1] ?? '');
    if (param[2] === '+') {
      greedy = true;
      return '(.+)';
    }
    return '([^/]+)';
  });
  const method = route.method.toUpperCase();
  return {
    route,
    routeKey: `${method} ${route.path}`,
    pattern: new RegExp(`^${segments.join('/')}$`),
    names,
    rank: (greedy ? 1000 : 0) + names.length * 10 + (method === 'ANY' ? 1 : 0),
  };
}

const TEXT_TYPES =
  /^(text\/|application\/(json|[\w.+-]+\+json|xml|[\w.+-]+\+xml|javascript|x-www-form-urlencoded|graphql))/i;

/** Bytes → (text | base64): text only when the type is textual and the bytes are valid UTF-8. */
export function encodeBody(
  bytes: Buffer,
  contentType: string | undefined,
): { body?: string; isBase64Encoded: boolean } {
  if (bytes.length === 0) return { isBase64Encoded: false };
  if (contentType && TEXT_TYPES.test(contentType)) {
    const text = bytes.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(bytes)) return { body: text, isBase64Encoded: false };
  }
  return { body: bytes.toString('base64'), isBase64Encoded: true };
}

function flatHeaders(request: IncomingMessage): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    if (name === 'cookie') {
      cookies.push(...value.split(/;\s*/).filter((cookie) => cookie.length > 0));
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return { headers, cookies };
}

function queryParameters(search: URLSearchParams): Record<string, string> | undefined {
  const result: Record<string, string> = {};
  let any = false;
  for (const [key, value] of search) {
    result[key] = result[key] === undefined ? value : `${result[key]},${value}`;
    any = true;
  }
  return any ? result : undefined;
}

function apiGatewayRequestId(): string {
  return randomBytes(12).toString('base64').replace(/=+$/, '');
}

function send(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(body);
}

function lambdaContext(requestId: string, routeKey: string, deadline: number): Context {
  const functionName = `local-${routeKey.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`.slice(0, 64);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Reads the body up to `limit` bytes; undefined when it is larger. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? '0');
    if (declared > limit) {
      request.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    request.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function writeResult(response: ServerResponse, result: unknown, requestId: string): void {
  const base = { 'apigw-requestid': requestId };
  if (result === undefined || result === null) {
    send(response, 200, '', base);
    return;
  }
  const structured = typeof result === 'object' && 'statusCode' in (result as object);
  if (!structured) {
    // A bare value: API Gateway answers 200 with it as a JSON body.
    send(response, 200, typeof result === 'string' ? result : JSON.stringify(result), base);
    return;
  }
  const value = result as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    cookies?: string[];
    body?: string;
    isBase64Encoded?: boolean;
  };
  const headers: Record<string, string | string[]> = { ...base };
  for (const [name, headerValue] of Object.entries(value.headers ?? {}))
    headers[name.toLowerCase()] = String(headerValue);
  if (value.cookies?.length) headers['set-cookie'] = value.cookies;
  const body =
    value.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(value.body, value.isBase64Encoded ? 'base64' : 'utf8');
  if (!('content-type' in headers) && body.length > 0) headers['content-type'] = 'application/json';
  response.writeHead(value.statusCode, headers);
  response.end(body);
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const routes = options.routes.map(compile).sort((a, b) => a.rank - b.rank);
  const maxBodyBytes = options.maxBodyBytes ?? API_GATEWAY_MAX_BODY_BYTES;

  const server = createServer(async (request, response) => {
    const requestId = apiGatewayRequestId();
    try {
      const method = (request.method ?? 'GET').toUpperCase();
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const rawPath = url.pathname;
      let matched: { compiled: CompiledRoute; params: Record<string, string> } | undefined;
      for (const compiled of routes) {
        const routeMethod = compiled.route.method.toUpperCase();
        if (routeMethod !== 'ANY' && routeMethod !== method) continue;
        const match = compiled.pattern.exec(rawPath);
        if (!match) continue;
        const params: Record<string, string> = {};
        compiled.names.forEach((name, index) => {
          const value = match[index + 1] ?? '';
          try {
            params[name] = decodeURIComponent(value);
          } catch {
            params[name] = value;
          }
        });
        matched = { compiled, params };
        break;
      }
      if (!matched) {
        request.resume();
        send(response, 404, '{"message":"Not Found"}', { 'apigw-requestid': requestId });
        return;
      }

      const bytes = await readBody(request, maxBodyBytes);
      if (!bytes) {
        // The handlers' own answers carry X-Request-Id; so does the gateway's refusal before them.
        send(response, 413, '{"message":"Request Entity Too Large"}', {
          'apigw-requestid': requestId,
          'x-request-id': requestId,
        });
        return;
      }
      const { headers, cookies } = flatHeaders(request);
      const queryIndex = (request.url ?? '').indexOf('?');
      const rawQueryString = queryIndex >= 0 ? (request.url ?? '').slice(queryIndex + 1) : '';
      const now = Date.now();
      const { compiled, params } = matched;
      const query = queryParameters(url.searchParams);
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: compiled.routeKey,
        rawPath,
        rawQueryString,
        ...(cookies.length > 0 ? { cookies } : {}),
        headers,
        ...(query ? { queryStringParameters: query } : {}),
        ...(compiled.names.length > 0 ? { pathParameters: params } : {}),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: headers.host ?? '127.0.0.1',
          domainPrefix: (headers.host ?? '127').split('.')[0] ?? '127',
          http: {
            method,
            path: rawPath,
            protocol: `HTTP/${request.httpVersion}`,
            sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId,
          routeKey: compiled.routeKey,
          stage: '$default',
          time: new Date(now).toUTCString(),
          timeEpoch: now,
        },
        ...encodeBody(bytes, headers['content-type']),
      };

      const timeoutMs = compiled.route.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const context = lambdaContext(requestId, compiled.routeKey, now + timeoutMs);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      try {
        const result = await Promise.race([
          Promise.resolve(compiled.route.handler(event, context)),
          timedOut,
        ]);
        if (result === 'timeout') {
          send(response, 504, '{"message":"Endpoint request timed out"}', { 'apigw-requestid': requestId });
          return;
        }
        writeResult(response, result, requestId);
      } catch (error) {
        options.onError?.(error, compiled.routeKey);
        send(response, 500, '{"message":"Internal Server Error"}', { 'apigw-requestid': requestId });
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      options.onError?.(error, 'gateway');
      send(response, 500, '{"message":"Internal Server Error"}', { 'apigw-requestid': requestId });
    }
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
