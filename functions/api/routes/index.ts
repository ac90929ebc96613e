import type { ApiReply, ApiRequest, RouteContext } from '../context';
import { reply } from '../context';
import { openApiDocument } from '../openapi';
import { createAsk, getAsk } from './asks';
import { getCosts } from './costs';
import { retryRun } from './retry';
import { cancelRun, createRun, getRun, getRunAudit, listRunEvents, listRuns } from './runs';
import { getWorkItem } from './work-items';

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** OpenAPI-style template; the same strings key the generated document's `paths`. */
  path: string;
  /** No API key needed. */
  public?: boolean;
  handle(ctx: RouteContext, request: ApiRequest): Promise<ApiReply>;
}

/** Every route of the REST API (openapi.ts documents exactly these; a test keeps them in step). */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/v1/openapi.json',
    public: true,
    handle: async () => reply(200, openApiDocument()),
  },
  { method: 'POST', path: '/v1/runs', handle: createRun },
  { method: 'GET', path: '/v1/runs', handle: listRuns },
  { method: 'GET', path: '/v1/runs/{id}', handle: getRun },
  { method: 'GET', path: '/v1/runs/{id}/events', handle: listRunEvents },
  { method: 'GET', path: '/v1/runs/{id}/audit', handle: getRunAudit },
  { method: 'POST', path: '/v1/runs/{id}/cancel', handle: cancelRun },
  { method: 'POST', path: '/v1/runs/{id}/retry', handle: retryRun },
  { method: 'GET', path: '/v1/work-items/{owner}/{repo}/{issue}', handle: getWorkItem },
  { method: 'GET', path: '/v1/costs', handle: getCosts },
  { method: 'POST', path: '/v1/asks', handle: createAsk },
  { method: 'GET', path: '/v1/asks/{id}', handle: getAsk },
];

interface CompiledRoute {
  spec: RouteSpec;
  pattern: RegExp;
  names: string[];
}

const compiled: CompiledRoute[] = ROUTES.map((spec) => {
  const names: string[] = [];
  const source = spec.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]);
      return '([^/]+)';
    })
    .join('/');
  return { spec, pattern: new RegExp(`^${source}/?$`), names };
});

export type RouteMatch =
  | { kind: 'route'; spec: RouteSpec; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

/** Path first, then method: a known path with another method is a 405 with `Allow`. */
export function matchRoute(method: string, path: string): RouteMatch {
  const allow: string[] = [];
  for (const route of compiled) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (route.spec.method !== method) {
      allow.push(route.spec.method);
      continue;
    }
    const params: Record<string, string> = {};
    route.names.forEach((name, index) => {
      const value = match[index + 1] ?? '';
      try {
        params[name] = decodeURIComponent(value);
      } catch {
        params[name] = value;
      }
    });
    return { kind: 'route', spec: route.spec, params };
  }
  return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
}
