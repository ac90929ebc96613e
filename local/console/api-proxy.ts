import type { IncomingMessage, ServerResponse } from 'node:http';
import { RunId } from '../../functions/shared/domain/run';

/**
 * The console's read-only window on the REST API, for its live pages: a browser on the console
 * asks `/api/v1/runs/{id}` and `/api/v1/runs/{id}/events?after=N`; the console forwards them
 * with its own `runs:read` key (the key never reaches the browser) and passes If-None-Match,
 * ETag, Retry-After and a 304 straight through. Nothing else of the API is reachable here.
 */

export interface ApiProxyOptions {
  /** The API's base URL (the stack's gateway). */
  url: string;
  /** A key with the `runs:read` scope only. */
  key: string;
  timeoutMs: number;
}

const PROXIED = /^\/api(\/v1\/runs\/([^/]+)(\/events)?)\/?$/;
const FORWARDED_QUERY = ['after', 'limit'];
const PASSED_HEADERS = ['etag', 'retry-after', 'content-type'];

/** True when the request was a proxied API path (answered here), false otherwise. */
export async function proxyApi(
  options: ApiProxyOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  const url = new URL(request.url ?? '/', 'http://console.local');
  const match = PROXIED.exec(url.pathname);
  if (!match) return false;
  // Only this machine's names: a page that rebinds its own DNS name to 127.0.0.1 gets nothing.
  if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i.test(request.headers.host ?? '')) {
    response.writeHead(403, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ error: { code: 'Forbidden', message: 'the console answers on 127.0.0.1 only' } }),
    );
    return true;
  }
  if (!RunId.safeParse(match[2]).success) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { code: 'NotFound', message: 'not a run id' } }));
    return true;
  }
  const target = new URL(`${options.url.replace(/\/+$/, '')}${match[1]}`);
  for (const name of FORWARDED_QUERY) {
    const value = url.searchParams.get(name);
    if (value !== null) target.searchParams.set(name, value);
  }
  const ifNoneMatch = request.headers['if-none-match'];
  try {
    const answer = await fetch(target, {
      headers: {
        authorization: `Bearer ${options.key}`,
        ...(typeof ifNoneMatch === 'string' ? { 'if-none-match': ifNoneMatch } : {}),
      },
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
    const body = answer.status === 304 ? undefined : Buffer.from(await answer.arrayBuffer());
    response.writeHead(answer.status, headers);
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch (error) {
    response.writeHead(502, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ error: { code: 'BadGateway', message: `the API did not answer: ${String(error)}` } }),
    );
  }
  return true;
}
