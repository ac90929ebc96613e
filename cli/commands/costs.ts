import type { Command } from 'commander';
import type { CostsView } from '../../functions/api/schemas';
import { GROUP_BY } from '../../functions/shared/domain/cost-rollup';
import { type ConnectionOptions, clientOf, UsageError } from '../connection';
import type { CliContext } from '../io';
import { fineMoney, guarded, table } from './runs';

/**
 * `code-factory costs [--repo R] [--from D] [--to D] [--group-by repo|model|kind|day] [--json]`:
 * GET /v1/costs from a terminal (docs/api.md "Costs"): spend, cost per merged PR, what runs that
 * merged nothing cost, and the monthly budget left. Exit codes as `runs`: 0 ok, 3 usage or API errors.
 */
type Totals = CostsView['total'];

const row = (key: string, t: Totals): string[] => [
  key,
  String(t.runs),
  fineMoney(t.model_usd),
  fineMoney(t.infra_usd),
  fineMoney(t.total_usd),
  String(t.merged_prs),
  t.cost_per_merged_pr_usd === null ? '-' : fineMoney(t.cost_per_merged_pr_usd),
  `${t.unmerged_runs} (${fineMoney(t.unmerged_usd)})`,
];

export function formatCosts(costs: CostsView): string {
  const scope = costs.repo ?? 'all repositories';
  const lines = [`costs of ${scope}, runs created ${costs.from} to ${costs.to}`];
  const rows = [['', 'RUNS', 'MODEL', 'INFRA', 'TOTAL', 'MERGED', 'PER MERGED PR', 'UNMERGED']];
  for (const group of costs.groups) rows.push(row(group.key, group));
  rows.push(row('total', costs.total));
  lines.push(table(rows));
  if (costs.budget.repos.length > 0) {
    lines.push('', `monthly budget ${costs.budget.month}`);
    const budget = [['REPO', 'LIMIT', 'SPENT', 'RESERVED', 'LEFT']];
    for (const repo of costs.budget.repos)
      budget.push([
        repo.repo,
        fineMoney(repo.limit_usd),
        fineMoney(repo.spent_usd),
        fineMoney(repo.reserved_usd),
        fineMoney(repo.left_usd),
      ]);
    lines.push(table(budget));
  }
  if (costs.truncated)
    lines.push('', 'more runs matched than one answer reads: narrow --from/--to or --repo');
  return lines.join('\n');
}

export function registerCostsCommands(program: Command, ctx: CliContext): void {
  program
    .command('costs')
    .description('spend, cost per merged PR and budget left, through GET /v1/costs')
    .option('--url <url>', 'API base URL (default: $FACTORY_URL)')
    .option('--api-key <key>', 'API key (default: $FACTORY_API_KEY)')
    .option('--repo <owner/repo>', 'only this repository')
    .option('--from <date>', 'runs created at or after (YYYY-MM-DD; default the 1st of this month)')
    .option('--to <date>', 'runs created before (a date: the end of that day; default now)')
    .option('--group-by <what>', `one row per ${GROUP_BY.join(', ')}`)
    .option('--json', 'print the API’s answer as JSON')
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<
        ConnectionOptions & { repo?: string; from?: string; to?: string; groupBy?: string; json?: boolean }
      >();
      await guarded(ctx, async () => {
        if (options.groupBy !== undefined && !(GROUP_BY as readonly string[]).includes(options.groupBy))
          throw new UsageError(`--group-by must be one of ${GROUP_BY.join(', ')}`);
        const costs = await clientOf(options).getCosts({
          ...(options.repo ? { repo: options.repo } : {}),
          ...(options.from ? { from: options.from } : {}),
          ...(options.to ? { to: options.to } : {}),
          ...(options.groupBy ? { group_by: options.groupBy } : {}),
        });
        ctx.io.stdout(`${options.json ? JSON.stringify(costs) : formatCosts(costs)}\n`);
        return 0;
      });
    });
}
