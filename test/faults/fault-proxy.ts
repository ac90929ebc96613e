import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small fault-injecting HTTP proxy for the fault suite: requests go to `upstream` unless a
 * queued fault matches them first, in which case the fault's canned response is returned.
 * Bound to 127.0.0.1 on an OS-chosen port; every request is recorded (method, path, time, status).
 */

export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface FaultRule {
  method: string;
  path: RegExp;
  /** Served in order to the matching requests; the rule is dropped once empty. */
  responses: CannedResponse[];
}

export interface ProxiedRequest {
  method: string;
  path: string;
  at: number;
  status: number;
  injected: boolean;
}

export interface FaultProxy {
  url: string;
  inject(rule: FaultRule): void;
  requests(): ProxiedRequest[];
  clear(): void;
  close(): Promise<void>;
}

const MAX_RECORDED = 5_000;

export const secondaryRateLimit = (retryAfterSeconds: number): CannedResponse => ({
  status: 403,
  headers: { 'retry-after': String(retryAfterSeconds) },
  body: {
    message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
    documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
  },
});

export const tooManyRequests = (retryAfterSeconds: number): CannedResponse => ({
  status: 429,
  headers: { 'retry-after': String(retryAfterSeconds) },
  body: { message: 'Too Many Requests' },
});

export const serverError = (status: 500 | 502 | 503 = 502): CannedResponse => ({
  status,
  body: { message: status === 502 ? 'Bad Gateway' : 'Server Error' },
});

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: FaultRule[] = [];
  const recorded: ProxiedRequest[] = [];
  const record = (entry: ProxiedRequest) => {
    if (recorded.length < MAX_RECORDED) recorded.push(entry);
  };

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const at = Date.now();
    const rule = rules.find((r) => r.method === method && r.path.test(path));
    const canned = rule?.responses.shift();
    if (rule && rule.responses.length === 0) rules.splice(rules.indexOf(rule), 1);
    if (canned) {
      // Drain the body so the client sees a clean response.
      req.resume();
      const text = JSON.stringify(canned.body ?? {});
      res.writeHead(canned.status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        ...canned.headers,
      });
      res.end(text);
      record({ method, path, at, status: canned.status, injected: true });
      return;
    }
    const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
    const upstreamPath = `${target.pathname.replace(/\/+$/, '')}${path}`;
    const forward = httpRequest(
      { hostname: target.hostname, port: target.port, method, path: upstreamPath, headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
        record({ method, path, at, status: upstreamRes.statusCode ?? 502, injected: false });
      },
    );
    forward.setTimeout(30_000, () => forward.destroy(new Error('upstream timed out')));
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
      record({ method, path, at, status: 502, injected: false });
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    inject: (rule) => {
      rules.push({ ...rule, responses: [...rule.responses] });
    },
    requests: () => recorded.map((r) => ({ ...r })),
    clear: () => {
      rules.length = 0;
      recorded.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
