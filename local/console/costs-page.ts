import { type CostTotals, rollUpCosts } from '../../functions/shared/domain/cost-rollup';
import { costOfRun } from '../../functions/shared/domain/infra-cost';
import type { Run } from '../../functions/shared/domain/run';
import { escapeHtml, formatInt, formatUsd, layout } from './html';
import { statusBadge } from './pages';

/**
 * The console's costs page: what the runs it lists cost (model from the ledger, infra by the
 * shared estimate, as GET /v1/costs and `runs show` report them), the roll-up, and what is left
 * of each repository's monthly budget.
 */

export interface CostsPageView {
  runs: Run[];
  budgets: Array<{ repo: string; limitUsd: number; spentUsd: number; reservedUsd: number }>;
  month: string;
}

const summaryRow = (label: string, t: CostTotals) =>
  `<tr><th scope="row">${escapeHtml(label)}</th><td class="num">${formatInt(t.runs)}</td><td class="num">${formatUsd(t.modelUsd)}</td><td class="num">${formatUsd(t.infraUsd)}</td><td class="num"><strong>${formatUsd(t.totalUsd)}</strong></td><td class="num">${formatInt(t.mergedPrs)}</td><td class="num">${t.costPerMergedPrUsd === null ? '—' : formatUsd(t.costPerMergedPrUsd)}</td><td class="num">${formatUsd(t.unmergedUsd)} <span class="small muted">${t.unmergedRuns} runs</span></td></tr>`;

export function costsPage(view: CostsPageView): string {
  const { total, groups } = rollUpCosts(view.runs, 'repo');
  const rows = view.runs
    .map((run) => {
      const cost = costOfRun(run);
      return `<tr data-run-id="${escapeHtml(run.runId)}"><td><a href="/runs/${escapeHtml(run.runId)}" class="mono">${escapeHtml(run.runId)}</a><div class="small muted">${escapeHtml(run.repo)} · ${escapeHtml(run.kind)}</div></td>
<td>${statusBadge(run.status)}</td><td class="num" data-cost="model">${formatUsd(cost.modelUsd)}</td><td class="num" data-cost="infra">${formatUsd(cost.infraUsd)}</td><td class="num" data-cost="total">${formatUsd(cost.totalUsd)}</td><td>${run.mergedSha ? 'merged' : '<span class="muted">not merged</span>'}</td></tr>`;
    })
    .join('\n');
  const budgets =
    view.budgets.length === 0
      ? `<p class="muted">No repository sets a monthly budget (<code>monthly_budget_usd</code> in .github/factory.yml).</p>`
      : `<table aria-label="Monthly budgets"><thead><tr><th>Repository</th><th class="num">Limit</th><th class="num">Spent</th><th class="num">Reserved</th><th class="num">Left</th></tr></thead><tbody>
${view.budgets.map((b) => `<tr><td>${escapeHtml(b.repo)}</td><td class="num">${formatUsd(b.limitUsd)}</td><td class="num">${formatUsd(b.spentUsd)}</td><td class="num">${formatUsd(b.reservedUsd)}</td><td class="num"><strong>${formatUsd(b.limitUsd - b.spentUsd - b.reservedUsd)}</strong></td></tr>`).join('\n')}
</tbody></table>`;
  return layout(
    { title: 'Costs', nav: 'costs', live: true },
    `<h1>Costs</h1>
<p class="muted">Model cost from each run's ledger (model calls and sandbox jobs); infra cost (Step Functions, Lambda, DynamoDB, SQS) estimated from what the run recorded, at AWS list prices. The API's <code>GET /v1/costs</code> gives the same figures by repo, model, kind or day.</p>
<table aria-label="Spend">
<thead><tr><th></th><th class="num">Runs</th><th class="num">Model</th><th class="num">Infra</th><th class="num">Total</th><th class="num">Merged PRs</th><th class="num">Per merged PR</th><th class="num">Not merged</th></tr></thead>
<tbody>
${summaryRow('All', total)}
${groups.map((g) => summaryRow(g.key, g)).join('\n')}
</tbody></table>
<h2>Budget left in ${escapeHtml(view.month)}</h2>
${budgets}
<h2>Runs</h2>
${
  view.runs.length === 0
    ? '<div class="empty"><p>No runs yet.</p></div>'
    : `<table aria-label="Run costs"><thead><tr><th>Run</th><th>Status</th><th class="num">Model</th><th class="num">Infra</th><th class="num">Total</th><th>Merged</th></tr></thead><tbody>
${rows}
</tbody></table>`
}`,
  );
}
