import { type CostTotals, rollUpCosts } from '../../shared/domain/cost-rollup';
import { canonicalRepo, type Run } from '../../shared/domain/run';
import { monthlyBudgetAccount } from '../../shared/store/keys';
import {
  type ApiReply,
  type ApiRequest,
  parseInput,
  type RouteContext,
  reply,
  requireRepo,
  requireScope,
} from '../context';
import { CostsQuery, type CostsView } from '../schemas';

/** Runs one answer reads at most (10 Queries of 100), and ledgers it reads to group by model. */
const MAX_RUNS = 1000;
const PAGE = 100;
const MAX_LEDGER_READS = 200;
const MAX_BUDGET_REPOS = 20;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function range(query: CostsQuery, nowMs: number): { from: string; to: string } {
  const now = new Date(nowMs);
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const from = query.from ? new Date(Date.parse(query.from)).toISOString() : monthStart;
  // A bare date as `to` includes that whole day.
  const to = query.to
    ? new Date(Date.parse(query.to) + (DAY.test(query.to) ? 86_400_000 : 0)).toISOString()
    : now.toISOString();
  return { from, to };
}

const totalsView = (t: CostTotals) => ({
  runs: t.runs,
  model_usd: t.modelUsd,
  infra_usd: t.infraUsd,
  total_usd: t.totalUsd,
  merged_prs: t.mergedPrs,
  cost_per_merged_pr_usd: t.costPerMergedPrUsd,
  unmerged_runs: t.unmergedRuns,
  unmerged_usd: t.unmergedUsd,
});

/**
 * Runs created in [from, to), newest first: by repo (GSI1) or the recent runs of every repo
 * (GSI4, the months `runs list` covers). Pages stop at the first run older than `from`.
 */
async function runsIn(
  ctx: RouteContext,
  repo: string | undefined,
  from: string,
  to: string,
): Promise<{ runs: Run[]; truncated: boolean }> {
  const runs: Run[] = [];
  let cursor: string | undefined;
  for (let read = 0; read < MAX_RUNS; read += PAGE) {
    const page = { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) };
    const result = repo ? await ctx.store.listRunsByRepo(repo, page) : await ctx.store.listRecentRuns(page);
    for (const run of result.items) {
      if (run.createdAt < from) return { runs, truncated: false };
      if (run.createdAt < to) runs.push(run);
    }
    cursor = result.cursor;
    if (!cursor) return { runs, truncated: false };
  }
  return { runs, truncated: true };
}

/** The model a run spent most on (from its ledger), for group_by=model. */
async function modelsOf(ctx: RouteContext, runs: Run[]): Promise<Map<string, string>> {
  const models = new Map<string, string>();
  for (const run of runs.filter((r) => r.ledger.llmCalls > 0).slice(0, MAX_LEDGER_READS)) {
    const { ledger } = await ctx.store.getRunDetail(run.runId);
    const spend = new Map<string, number>();
    for (const entry of ledger) spend.set(entry.model, (spend.get(entry.model) ?? 0) + entry.costUsd);
    const top = [...spend.entries()].sort((a, b) => b[1] - a[1])[0];
    if (top) models.set(run.runId, top[0]);
  }
  return models;
}

/**
 * GET /v1/costs?repo=&from=&to=&group_by=repo|model|kind|day: spend (model cost from the ledger,
 * infra cost by the shared estimate), cost per merged PR, what runs that merged nothing cost, and
 * the monthly budget left of the repositories that set one. Only repositories the key may see.
 */
export async function getCosts(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const query = parseInput(CostsQuery, request.query, 'query');
  if (query.repo !== undefined) requireRepo(principal, query.repo);
  const nowMs = ctx.clock.now();
  const { from, to } = range(query, nowMs);
  const found = await runsIn(ctx, query.repo, from, to);
  const runs = found.runs.filter((run) => principal.canSeeRepo(run.repo));
  const models = query.group_by === 'model' ? await modelsOf(ctx, runs) : undefined;
  const { total, groups } = rollUpCosts(runs, query.group_by, (run) => models?.get(run.runId));

  const repos = [
    ...new Set([...(query.repo ? [query.repo] : []), ...runs.map((r) => r.repo)].map(canonicalRepo)),
  ];
  const budgets = await Promise.all(
    repos.slice(0, MAX_BUDGET_REPOS).map(async (repo) => ({
      repo,
      budget: await ctx.store.getBudget(monthlyBudgetAccount(repo, nowMs)),
    })),
  );
  const capped = budgets.flatMap(({ repo, budget }) =>
    budget
      ? [
          {
            repo,
            limit_usd: budget.limitUsd,
            spent_usd: budget.spentUsd,
            reserved_usd: budget.reservedUsd,
            left_usd: Math.round((budget.limitUsd - budget.spentUsd - budget.reservedUsd) * 1e6) / 1e6,
          },
        ]
      : [],
  );
  const data: CostsView = {
    from,
    to,
    ...(query.repo ? { repo: canonicalRepo(query.repo) } : {}),
    ...(query.group_by ? { group_by: query.group_by } : {}),
    total: totalsView(total),
    groups: groups.map(({ key, ...totals }) => ({ key, ...totalsView(totals) })),
    budget: {
      month: new Date(nowMs).toISOString().slice(0, 7),
      repos: capped,
      left_usd: capped.length > 0 ? capped.reduce((sum, b) => sum + b.left_usd, 0) : null,
    },
    truncated: found.truncated,
  };
  return reply(200, { data });
}
