import type { IncomingMessage, ServerResponse } from 'node:http';
import { RunId } from '../../functions/shared/domain/run';

/**
 * The console's window on the REST API. A browser on the console asks `/api/v1/…` and the
 * console forwards the request with its own keys (they never reach the browser):
 * - with the `runs:read` key: `GET /v1/runs/{id}` and `/events?after=N` (the live run page:
 *   If-None-Match, ETag, Retry-After and a 304 pass straight through), `POST /v1/asks` and
 *   `GET /v1/asks/{id}` (the copilot panel);
 * - with the `runs:write` key, and only for a same-origin JSON POST (what the panel's button
 *   sends when a person clicks a proposal): `POST /v1/runs/{id}/retry` and `/cancel`.
 * Nothing else of the API is reachable here.
 */

export interface ApiProxyOptions {
  /** The API's base URL (the stack's gateway). */
  url: string;
  /** A key with the `runs:read` scope only. */
  key: string;
  /** A `runs:write` key for the actions a person confirms; without it they are refused. */
  writeKey?: string;
  timeoutMs: number;
}

const FORWARDED_QUERY = ['after', 'limit'];
const PASSED_HEADERS = ['etag', 'retry-after', 'content-type', 'location'];
const MAX_BODY_BYTES = 8 * 1024;

type Route = { path: string; key: 'read' | 'write'; methods: string[]; id: string | undefined };

function routeOf(pathname: string): Route | undefined {
  const run = /^\/api(\/v1\/runs\/([^/]+)(\/events)?)\/?$/.exec(pathname);
  if (run) return { path: run[1] ?? '', key: 'read', methods: ['GET', 'HEAD'], id: run[2] };
  const action = /^\/api(\/v1\/runs\/([^/]+)\/(retry|cancel))\/?$/.exec(pathname);
  if (action) return { path: action[1] ?? '', key: 'write', methods: ['POST'], id: action[2] };
  if (/^\/api\/v1\/asks\/?$/.test(pathname))
    return { path: '/v1/asks', key: 'read', methods: ['POST'], id: undefined };
  const ask = /^\/api(\/v1\/asks\/([^/]+))\/?$/.exec(pathname);
  if (ask) return { path: ask[1] ?? '', key: 'read', methods: ['GET', 'HEAD'], id: ask[2] };
  return undefined;
}

function refuse(response: ServerResponse, status: number, code: string, message: string, headers = {}): true {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify({ error: { code, message } }));
  return true;
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** True when the request was a proxied API path (answered here), false otherwise. */
export async function proxyApi(
  options: ApiProxyOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const url = new URL(request.url ?? '/', 'http://console.local');
  const route = routeOf(url.pathname);
  if (!route) return false;
  const method = request.method ?? 'GET';
  // Only this machine's names: a page that rebinds its own DNS name to 127.0.0.1 gets nothing.
  const host = request.headers.host ?? '';
  if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i.test(host))
    return refuse(response, 403, 'Forbidden', 'the console answers on 127.0.0.1 only');
  if (!route.methods.includes(method))
    return refuse(response, 405, 'MethodNotAllowed', `use ${route.methods.join(' or ')}`, {
      allow: route.methods.join(', '),
    });
  if (route.id !== undefined && !RunId.safeParse(route.id).success)
    return refuse(response, 404, 'NotFound', 'not an id');
  let body: Buffer | undefined;
  if (method === 'POST') {
    // A write comes only from the console's own pages: same origin, JSON (which a cross-site
    // form cannot send, and a cross-site fetch cannot send without a preflight nobody answers).
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`)
      return refuse(response, 403, 'Forbidden', 'cross-origin requests are refused');
    if (route.key === 'write' && origin === undefined)
      return refuse(response, 403, 'Forbidden', 'an action needs the console page that proposed it');
    if (!/^application\/json\b/i.test(request.headers['content-type'] ?? ''))
      return refuse(response, 415, 'UnsupportedMediaType', 'send application/json');
    body = await readBody(request);
    if (body === undefined)
      return refuse(response, 413, 'PayloadTooLarge', `body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const key = route.key === 'write' ? options.writeKey : options.key;
  if (!key) return refuse(response, 403, 'Forbidden', 'this console sends no actions');
  const target = new URL(`${options.url.replace(/\/+$/, '')}${route.path}`);
  for (const name of FORWARDED_QUERY) {
    const value = url.searchParams.get(name);
    if (value !== null) target.searchParams.set(name, value);
  }
  const ifNoneMatch = request.headers['if-none-match'];
  try {
    const answer = await fetch(target, {
      method: method === 'HEAD' ? 'GET' : method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(typeof ifNoneMatch === 'string' ? { 'if-none-match': ifNoneMatch } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body } : {}),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const headers: Record<string, string> = {
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    };
    for (const name of PASSED_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const answered = answer.status === 304 ? undefined : Buffer.from(await answer.arrayBuffer());
    response.writeHead(answer.status, headers);
    response.end(method === 'HEAD' ? undefined : answered);
  } catch (error) {
    refuse(response, 502, 'BadGateway', `the API did not answer: ${String(error)}`);
  }
  return true;
}
