import {
  OpenApiGeneratorV31,
  OpenAPIRegistry,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import {
  AskEnvelope,
  AskIdParams,
  CreateAskBody,
  AuditPage,
  CostsEnvelope,
  CostsQuery,
  AuditQuery,
  CreateRunBody,
  RetryRunBody,
  ErrorBody,
  EventPage,
  EventsQuery,
  IdempotencyHeader,
  ListRunsQuery,
  PageQuery,
  RunEnvelope,
  RunIdParams,
  RunPage,
  WorkItemEnvelope,
  WorkItemParams,
} from './schemas';

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with
 * (no hand-kept copy). Built once per process, on first request.
 */
const BEARER = 'apiKey';

const standardHeaders = z.object({
  'x-request-id': z.string().meta({ description: 'The request id; quote it when reporting a problem' }),
});
const cachedHeaders = standardHeaders.extend({
  etag: z.string().meta({ description: 'Send it back as If-None-Match: 304 when nothing changed' }),
});
const createdHeaders = standardHeaders.extend({
  location: z.string().meta({ description: 'The run’s URL: /v1/runs/{id}' }),
});
/** Conditional GETs: polling an unchanged resource costs a 304 and no body. */
const conditional = z.object({
  'if-none-match': z
    .string()
    .optional()
    .meta({ description: 'An ETag from an earlier answer (or a list of them, or *): 304 if unchanged' }),
});
const runHeaders = cachedHeaders.extend({
  'retry-after': z
    .string()
    .optional()
    .meta({ description: 'Seconds to wait before polling again (absent once the run has ended)' }),
});

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const ok = (
  description: string,
  schema: z.ZodType,
  headers: z.ZodObject = cachedHeaders,
): ResponseConfig => ({
  description,
  headers,
  content: json(schema),
});
const problem = (description: string): ResponseConfig => ({
  description,
  headers: standardHeaders,
  content: json(ErrorBody),
});

const ERRORS = {
  400: problem('Invalid request (ValidationError, BadRequest — e.g. an altered next_token)'),
  401: problem('Missing or unknown API key'),
  403: problem('The key lacks the scope, or does not cover the repository named in the request'),
  404: problem('No such resource, or one outside the key’s repositories (indistinguishable)'),
  409: problem('Conflict with the current state'),
  413: problem('Body too large'),
  415: problem('Body is not JSON'),
  500: problem('Internal error'),
} as const;
const pick = (...codes: Array<keyof typeof ERRORS>) => Object.fromEntries(codes.map((c) => [c, ERRORS[c]]));
const notModified: ResponseConfig = {
  description: 'Unchanged since the ETag sent in If-None-Match',
  headers: cachedHeaders,
};

function routes(): RouteConfig[] {
  const secured = { security: [{ [BEARER]: [] }] };
  return [
    {
      method: 'get',
      path: '/v1/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This document',
      responses: {
        200: { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: {} } } },
      },
    },
    {
      method: 'post',
      path: '/v1/runs',
      operationId: 'createRun',
      summary: 'Start a run for an issue, a pull request or a free-text task',
      ...secured,
      request: { headers: IdempotencyHeader, body: { required: true, content: json(CreateRunBody) } },
      responses: {
        201: ok('The run was created and its execution started', RunEnvelope, createdHeaders),
        200: ok('A replay of an Idempotency-Key: the run it created', RunEnvelope, createdHeaders),
        ...pick(400, 401, 403, 409, 413, 415, 500),
      },
    },
    {
      method: 'get',
      path: '/v1/runs',
      operationId: 'listRuns',
      summary:
        'Runs by repository and/or status, or the key’s recent runs across its repositories, newest first',
      ...secured,
      request: { query: ListRunsQuery, headers: conditional },
      responses: { 200: ok('A page of runs', RunPage), 304: notModified, ...pick(400, 401, 403, 500) },
    },
    {
      method: 'get',
      path: '/v1/runs/{id}',
      operationId: 'getRun',
      summary: 'A run: status, stage timeline, PR, checks, approvals, ledger, error',
      ...secured,
      request: { params: RunIdParams, headers: conditional },
      responses: {
        200: ok('The run', RunEnvelope, runHeaders),
        304: notModified,
        ...pick(400, 401, 403, 404, 500),
      },
    },
    {
      method: 'get',
      path: '/v1/runs/{id}/events',
      operationId: 'listRunEvents',
      summary: 'The run’s audit timeline (hash-chained), oldest first; `after` for only what is new',
      ...secured,
      request: { params: RunIdParams, query: EventsQuery, headers: conditional },
      responses: {
        200: ok('A page of events', EventPage),
        304: notModified,
        ...pick(400, 401, 403, 404, 500),
      },
    },
    {
      method: 'get',
      path: '/v1/runs/{id}/audit',
      operationId: 'getRunAudit',
      summary: 'The run’s audit hash chain with its recorded head, to verify (docs/api.md, "Audit")',
      ...secured,
      request: { params: RunIdParams, query: AuditQuery, headers: conditional },
      responses: {
        200: ok('A page of the chain; the page that reaches its end carries the head', AuditPage),
        304: notModified,
        ...pick(400, 401, 403, 404, 500),
      },
    },
    {
      method: 'post',
      path: '/v1/runs/{id}/cancel',
      operationId: 'cancelRun',
      summary: 'Cancel a run: stop its execution, close its PR, drop its waits (idempotent)',
      ...secured,
      request: { params: RunIdParams },
      responses: {
        200: ok('The cancelled run', RunEnvelope, standardHeaders),
        ...pick(400, 401, 403, 404, 409, 500),
      },
    },
    {
      method: 'post',
      path: '/v1/runs/{id}/retry',
      operationId: 'retryRun',
      summary:
        'Start a new run on an ended run’s work item; after a STOPPED run it resumes from that run’s branch',
      ...secured,
      request: { params: RunIdParams, body: { required: false, content: json(RetryRunBody) } },
      responses: {
        201: ok('The new run was created and its execution started', RunEnvelope, createdHeaders),
        ...pick(400, 401, 403, 404, 409, 413, 415, 500),
      },
    },
    {
      method: 'get',
      path: '/v1/work-items/{owner}/{repo}/{issue}',
      operationId: 'getWorkItem',
      summary: 'A WorkItem (owner/repo#issue) and its runs, newest first',
      ...secured,
      request: { params: WorkItemParams, query: PageQuery, headers: conditional },
      responses: {
        200: ok('The WorkItem and a page of its runs', WorkItemEnvelope),
        304: notModified,
        ...pick(400, 401, 403, 404, 500),
      },
    },
    {
      method: 'get',
      path: '/v1/costs',
      operationId: 'getCosts',
      summary:
        'Spend (model and estimated infra), cost per merged PR, cost of runs that merged nothing, monthly budget left',
      ...secured,
      request: { query: CostsQuery, headers: conditional },
      responses: {
        200: ok('The roll-up over the runs created in [from, to)', CostsEnvelope),
        304: notModified,
        ...pick(400, 401, 403, 500),
      },
    },
    {
      method: 'post',
      path: '/v1/asks',
      operationId: 'createAsk',
      summary:
        'Ask the copilot about runs; it reads only, and proposes actions a person confirms through their own endpoints',
      ...secured,
      request: { body: { required: true, content: json(CreateAskBody) } },
      responses: {
        202: ok(
          'The ask was stored and is being answered: poll GET /v1/asks/{id}',
          AskEnvelope,
          createdHeaders,
        ),
        ...pick(400, 401, 403, 413, 415, 500),
      },
    },
    {
      method: 'get',
      path: '/v1/asks/{id}',
      operationId: 'getAsk',
      summary: 'An ask: PENDING, then ANSWERED with the answer and proposals (or FAILED with the error)',
      ...secured,
      request: { params: AskIdParams, headers: conditional },
      responses: {
        200: ok('The ask', AskEnvelope, cachedHeaders),
        304: notModified,
        ...pick(400, 401, 403, 404, 500),
      },
    },
  ];
}

export function buildOpenApiDocument(): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER, {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (cf_…) from `code-factory keys create`',
  });
  for (const route of routes()) registry.registerPath(route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Code Factory API',
      version: '1.0.0',
      description:
        'Start runs and follow them. Successes are `{ "data": … }`, errors `{ "error": { code, message, request_id } }`.',
    },
  }) as unknown as Record<string, unknown>;
}

let cached: Record<string, unknown> | undefined;
export function openApiDocument(): Record<string, unknown> {
  cached ??= buildOpenApiDocument();
  return cached;
}
