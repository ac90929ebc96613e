import { workItemKeyOf } from '../../shared/domain/run';
import {
  ApiError,
  type ApiReply,
  type ApiRequest,
  parseInput,
  type RouteContext,
  reply,
  requireRepo,
  requireScope,
} from '../context';
import { PageQuery, WorkItemParams } from '../schemas';
import { runSummaryView, workItemView } from '../views';

/**
 * GET /v1/work-items/{owner}/{repo}/{issue}: the WorkItem and its runs, newest first, in one
 * Query (GSI3). The WorkItem comes with the first page; later pages carry runs only.
 */
export async function getWorkItem(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const params = parseInput(WorkItemParams, request.params, 'path');
  const query = parseInput(PageQuery, request.query, 'query');
  const repo = `${params.owner}/${params.repo}`;
  requireRepo(principal, repo);
  const key = workItemKeyOf(repo, params.issue);
  const binding = ['work-item', key.toLowerCase(), principal.keyHash];
  const cursor = await ctx.tokens.open(query.next_token, binding);
  const { workItem, runs } = await ctx.store.getWorkItemWithRuns(key, {
    limit: query.limit,
    ...(cursor === undefined ? {} : { cursor }),
  });
  if (cursor === undefined && !workItem && runs.items.length === 0) {
    throw new ApiError(404, 'NotFound', `work item ${key} not found`);
  }
  const nextToken = await ctx.tokens.sign(runs.cursor, binding);
  return reply(200, {
    data: {
      ...(workItem ? { work_item: workItemView(workItem) } : {}),
      runs: runs.items.map(runSummaryView),
    },
    ...(nextToken ? { next_token: nextToken } : {}),
  });
}
