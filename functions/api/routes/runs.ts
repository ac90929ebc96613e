import { cancelRun as cancelSharedRun } from '../../shared/cancel-run';
import { createHash } from 'node:crypto';
import { canonicalRepo, isTerminal, type Run, workItemKeyOf } from '../../shared/domain/run';
import { header, rawBody, rawBodyLength } from '../../shared/http';
import { admitToWorkItem, startRun } from '../../shared/start-run';
import { taskTitle } from '../../shared/domain/run';
import {
  ApiError,
  type ApiReply,
  type ApiRequest,
  parseInput,
  type RouteContext,
  reply,
  requireRepo,
  requireScope,
  visibleRun,
} from '../context';
import { GENESIS_HASH } from '../../shared/domain/audit';
import { AuditQuery, CreateRunBody, EventsQuery, ListRunsQuery, RunIdParams } from '../schemas';
import { eventView, runSummaryView, runView } from '../views';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** Seconds a poller should wait before asking again: long while people decide, short while running. */
export function retryAfterOf(ctx: RouteContext, run: Run): Record<string, string> {
  if (isTerminal(run.status)) return {};
  const waiting = run.status === 'AWAITING_CLARIFICATION' || run.status === 'AWAITING_APPROVAL';
  const seconds = waiting ? ctx.settings.retryAfterWaitingSeconds : ctx.settings.retryAfterActiveSeconds;
  return { 'retry-after': String(seconds) };
}

export function jsonBody(ctx: RouteContext, request: ApiRequest): unknown {
  if (rawBodyLength(request.event) > ctx.settings.maxBodyBytes) {
    throw new ApiError(413, 'PayloadTooLarge', `body exceeds ${ctx.settings.maxBodyBytes} bytes`);
  }
  const type = header(request.event, 'content-type');
  if (type !== undefined && !JSON_TYPE.test(type)) {
    throw new ApiError(415, 'UnsupportedMediaType', 'send the body as application/json');
  }
  try {
    return JSON.parse(rawBody(request.event).toString('utf8'));
  } catch {
    throw new ApiError(400, 'BadRequest', 'body is not JSON');
  }
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** What makes two POST /v1/runs the same request (the repo's case does not). */
const requestFingerprint = (body: CreateRunBody) =>
  sha256(JSON.stringify([canonicalRepo(body.repo), body.kind, body.issue ?? null, body.task ?? null]));

const sameRequest = (run: Run, body: CreateRunBody) =>
  canonicalRepo(run.repo) === canonicalRepo(body.repo) &&
  run.kind === body.kind &&
  run.issueNumber === body.issue &&
  run.task === body.task;

/** POST /v1/runs */
export async function createRun(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:write');
  const body = parseInput(CreateRunBody, jsonBody(ctx, request), 'body');
  requireRepo(principal, body.repo);

  let runId = ctx.ids.ulid();
  const idempotencyKey = header(request.event, 'idempotency-key');
  if (idempotencyKey !== undefined) {
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ApiError(400, 'BadRequest', 'Idempotency-Key must be 1-255 printable ASCII characters');
    }
    // Scoped by the caller's key hash: two callers can never see each other's runs through it.
    const fingerprint = requestFingerprint(body);
    const claim = await ctx.store.claimIdempotencyKey(
      principal.keyHash,
      sha256(idempotencyKey),
      runId,
      ctx.settings.idempotencyTtlSeconds,
      fingerprint,
    );
    runId = claim.runId;
    if (!claim.first) {
      const { run: existing, approvals, ledger } = await ctx.store.getRunDetail(runId);
      // The fingerprint is compared even when the first attempt was refused and created nothing.
      const differs = claim.fingerprint !== undefined && claim.fingerprint !== fingerprint;
      if (differs || (existing && !sameRequest(existing, body))) {
        throw new ApiError(409, 'Conflict', 'this Idempotency-Key was used with a different request');
      }
      if (existing) {
        return reply(200, { data: runView(existing, approvals, ledger) }, { location: `/v1/runs/${runId}` });
      }
      // Claimed, but the first attempt never created the run (it crashed or was refused): go on
      // with the claimed id, so every retry converges on one run.
    }
  }

  const workItemKey =
    body.issue === undefined
      ? `${canonicalRepo(body.repo)}@task-${runId}`
      : workItemKeyOf(body.repo, body.issue);
  const admission = await admitToWorkItem(ctx.store, workItemKey, runId);
  if (!admission.ok) {
    throw new ApiError(
      409,
      'Conflict',
      `run ${admission.activeRunId} is still active on ${workItemKey}; cancel it first`,
    );
  }
  const { run, created } = await startRun(ctx, {
    runId,
    kind: body.kind,
    repo: body.repo,
    workItemKey,
    ...(body.issue === undefined ? {} : { issueNumber: body.issue }),
    ...(body.task === undefined ? {} : { task: body.task, title: taskTitle(body.task) }),
    trigger: { source: 'api', sender: `api:${principal.name}`.slice(0, 100) },
    ...(admission.workItem ? { workItem: admission.workItem } : {}),
    eventData: { apiKey: principal.keyHash.slice(0, 12), requestId: request.requestId },
  });
  ctx.log.info('run started through the API', { runId, repo: run.repo, key: principal.name });
  return reply(created ? 201 : 200, { data: runView(run, [], []) }, { location: `/v1/runs/${runId}` });
}

/** GET /v1/runs/{id}: the run, its approvals and its ledger, in one Query (getRunDetail). */
export async function getRun(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const { id } = parseInput(RunIdParams, request.params, 'path');
  const { run: stored, approvals, ledger } = await ctx.store.getRunDetail(id);
  const run = visibleRun(principal, id, stored);
  return reply(200, { data: runView(run, approvals, ledger) }, retryAfterOf(ctx, run));
}

/**
 * GET /v1/runs: by repo (GSI1), by status (GSI2), or with neither the recent runs of every
 * repository (GSI4, by month), newest first, one Query per page (the recent runs: one per month
 * the page reaches). Other filters and the key's repo patterns apply within the page, so a page
 * may hold fewer than `limit` runs while `next_token` is present.
 */
export async function listRuns(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const query = parseInput(ListRunsQuery, request.query, 'query');
  if (query.repo !== undefined) requireRepo(principal, query.repo);
  const binding = [
    'runs',
    query.repo && canonicalRepo(query.repo),
    query.status,
    query.kind,
    principal.keyHash,
  ];
  const cursor = await ctx.tokens.open(query.next_token, binding);
  const page = { limit: query.limit, ...(cursor === undefined ? {} : { cursor }) };
  const result =
    query.repo !== undefined
      ? await ctx.store.listRunsByRepo(query.repo, page)
      : query.status !== undefined
        ? await ctx.store.listRunsByStatus(query.status, page)
        : await ctx.store.listRecentRuns(page);
  const runs = result.items.filter(
    (run) =>
      principal.canSeeRepo(run.repo) &&
      (query.status === undefined || run.status === query.status) &&
      (query.kind === undefined || run.kind === query.kind),
  );
  const nextToken = await ctx.tokens.sign(result.cursor, binding);
  return reply(200, { data: runs.map(runSummaryView), ...(nextToken ? { next_token: nextToken } : {}) });
}

/**
 * GET /v1/runs/{id}/events: the audit timeline in order, paginated; with `after`, only the events
 * after that seq, so a poller never re-reads what it has (an unchanged answer is a 304).
 */
export async function listRunEvents(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const { id } = parseInput(RunIdParams, request.params, 'path');
  const query = parseInput(EventsQuery, request.query, 'query');
  const binding = ['events', id, query.after, principal.keyHash];
  const cursor = await ctx.tokens.open(query.next_token, binding);
  // One Query (SPEC §5 "run + its events timeline"): the run item sorts after its events, so it
  // comes with the last page; only an earlier page of a long timeline reads the run on its own.
  const { run, events } = await ctx.store.getRunWithEvents(
    id,
    { limit: query.limit, ...(cursor === undefined ? {} : { cursor }) },
    query.after,
  );
  visibleRun(principal, id, run ?? (await ctx.store.getRun(id)));
  const nextToken = await ctx.tokens.sign(events.cursor, binding);
  return reply(200, { data: events.items.map(eventView), ...(nextToken ? { next_token: nextToken } : {}) });
}

/**
 * GET /v1/runs/{id}/audit: the hash chain, page by page, and on the last page the head the run
 * item recorded, so a verifier (code-factory audit verify) can tell a cut-off tail from the end.
 */
export async function getRunAudit(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const { id } = parseInput(RunIdParams, request.params, 'path');
  const query = parseInput(AuditQuery, request.query, 'query');
  const binding = ['audit', id, principal.keyHash];
  const cursor = await ctx.tokens.open(query.next_token, binding);
  const { run, head, events } = await ctx.store.getRunWithEvents(id, {
    limit: query.limit,
    ...(cursor === undefined ? {} : { cursor }),
  });
  visibleRun(principal, id, run ?? (await ctx.store.getRun(id)));
  const nextToken = await ctx.tokens.sign(events.cursor, binding);
  // The run item ends the partition: the page that holds it is the last and carries the head.
  const headField = run ? { head: head ? { seq: head.seq, hash: head.hash } : null } : {};
  return reply(200, {
    data: { run_id: id, genesis_hash: GENESIS_HASH, ...headField, events: events.items.map(eventView) },
    ...(nextToken ? { next_token: nextToken } : {}),
  });
}

/**
 * POST /v1/runs/{id}/cancel (functions/shared/cancel-run.ts): CANCELLED first, then the execution
 * stopped, then waits, approvals and the PR cleaned up. Repeating it on a cancelled run answers 200;
 * any other terminal run is a 409.
 */
export async function cancelRun(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:write');
  const { id } = parseInput(RunIdParams, request.params, 'path');
  visibleRun(principal, id, await ctx.store.getRun(id));
  const { run } = await cancelSharedRun({ ...ctx, now: () => ctx.iso() }, id, {
    actor: `api:${principal.name}`.slice(0, 100),
    cause: `cancelled through the API by key ${principal.name}`,
    data: { requestId: request.requestId },
  });
  if (run.status !== 'CANCELLED') {
    throw new ApiError(409, 'Conflict', `run ${id} already ended ${run.status}`);
  }
  const detail = await ctx.store.getRunDetail(id);
  return reply(200, { data: runView(run, detail.approvals, detail.ledger) });
}
