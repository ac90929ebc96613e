import { isTerminal } from '../../shared/domain/run';
import { rawBodyLength } from '../../shared/http';
import { admitToWorkItem, startRun } from '../../shared/start-run';
import {
  ApiError,
  type ApiReply,
  type ApiRequest,
  parseInput,
  type RouteContext,
  reply,
  requireScope,
  visibleRun,
} from '../context';
import { RetryRunBody, RunIdParams } from '../schemas';
import { runView } from '../views';
import { jsonBody } from './runs';

/**
 * POST /v1/runs/{id}/retry: a new run on the ended run's work item, as `/factory retry` starts one
 * (trigger source `retry`). After a STOPPED run it resumes from that run's branch and note (admit,
 * functions/stages/resume.ts). Only the work item's newest run can be retried, so a repeated
 * request finds its retry newer and is refused rather than starting a second one.
 */
export async function retryRun(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:write');
  const { id } = parseInput(RunIdParams, request.params, 'path');
  const body = parseInput(
    RetryRunBody,
    rawBodyLength(request.event) === 0 ? {} : jsonBody(ctx, request),
    'body',
  );
  const previous = visibleRun(principal, id, await ctx.store.getRun(id));
  if (!isTerminal(previous.status))
    throw new ApiError(409, 'Conflict', `run ${id} is still ${previous.status}; cancel it first`);
  const newest = (await ctx.store.getWorkItemWithRuns(previous.workItemKey, { limit: 1 })).runs.items[0];
  if (newest && newest.runId !== id)
    throw new ApiError(
      409,
      'Conflict',
      `run ${newest.runId} is newer on ${previous.workItemKey}: retry that one`,
    );

  const runId = ctx.ids.ulid();
  const admission = await admitToWorkItem(ctx.store, previous.workItemKey, runId);
  if (!admission.ok)
    throw new ApiError(
      409,
      'Conflict',
      `run ${admission.activeRunId} was started meanwhile on ${previous.workItemKey}`,
    );
  const { run } = await startRun(ctx, {
    runId,
    kind: previous.kind,
    repo: previous.repo,
    workItemKey: previous.workItemKey,
    ...(previous.issueNumber === undefined ? {} : { issueNumber: previous.issueNumber }),
    ...(previous.task === undefined ? {} : { task: previous.task }),
    ...(previous.issueTitle === undefined ? {} : { title: previous.issueTitle }),
    ...(body.budget_usd === undefined ? {} : { budgetUsd: body.budget_usd }),
    trigger: { source: 'retry', sender: `api:${principal.name}`.slice(0, 100), command: 'retry' },
    ...(admission.workItem ? { workItem: admission.workItem } : {}),
    eventData: { retryOf: id, apiKey: principal.keyHash.slice(0, 12), requestId: request.requestId },
  });
  ctx.log.info('run retried through the API', { runId, retryOf: id, key: principal.name });
  return reply(201, { data: runView(run, [], []) }, { location: `/v1/runs/${runId}` });
}
