import { costOfRun } from './infra-cost';
import { roundUsd } from './ledger';
import type { Run } from './run';

/**
 * Spend rolled up from run items alone (model cost from each run's ledger totals, infra cost by
 * the shared estimate): totals, cost per merged pull request, and what runs that merged nothing
 * cost, overall and per group.
 */
export const GROUP_BY = ['repo', 'model', 'kind', 'day'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface CostTotals {
  runs: number;
  modelUsd: number;
  infraUsd: number;
  totalUsd: number;
  mergedPrs: number;
  /** totalUsd of every run (merged or not) over the merged PRs; null when none merged. */
  costPerMergedPrUsd: number | null;
  unmergedRuns: number;
  unmergedUsd: number;
}

function emptyTotals(): CostTotals {
  return {
    runs: 0,
    modelUsd: 0,
    infraUsd: 0,
    totalUsd: 0,
    mergedPrs: 0,
    costPerMergedPrUsd: null,
    unmergedRuns: 0,
    unmergedUsd: 0,
  };
}

function add(totals: CostTotals, run: Run): void {
  const cost = costOfRun(run);
  totals.runs += 1;
  totals.modelUsd += cost.modelUsd;
  totals.infraUsd += cost.infraUsd;
  totals.totalUsd += cost.totalUsd;
  if (run.mergedSha) totals.mergedPrs += 1;
  else {
    totals.unmergedRuns += 1;
    totals.unmergedUsd += cost.totalUsd;
  }
}

function finish(totals: CostTotals): CostTotals {
  return {
    ...totals,
    modelUsd: roundUsd(totals.modelUsd),
    infraUsd: roundUsd(totals.infraUsd),
    totalUsd: roundUsd(totals.totalUsd),
    unmergedUsd: roundUsd(totals.unmergedUsd),
    costPerMergedPrUsd: totals.mergedPrs > 0 ? roundUsd(totals.totalUsd / totals.mergedPrs) : null,
  };
}

/**
 * A run's group. `model`: the run item keeps token totals, not models, so a run counts under the
 * model of its most expensive stage when the caller passes the run's ledger models, else `unknown`.
 */
export function groupOf(run: Run, by: GroupBy, modelOf?: (run: Run) => string | undefined): string {
  if (by === 'repo') return run.repo.toLowerCase();
  if (by === 'kind') return run.kind;
  if (by === 'day') return run.createdAt.slice(0, 10);
  return modelOf?.(run) ?? 'unknown';
}

export function rollUpCosts(
  runs: readonly Run[],
  by: GroupBy | undefined,
  modelOf?: (run: Run) => string | undefined,
): { total: CostTotals; groups: Array<{ key: string } & CostTotals> } {
  const total = emptyTotals();
  const groups = new Map<string, CostTotals>();
  for (const run of runs) {
    add(total, run);
    if (by === undefined) continue;
    const key = groupOf(run, by, modelOf);
    const group = groups.get(key) ?? emptyTotals();
    add(group, run);
    groups.set(key, group);
  }
  return {
    total: finish(total),
    groups: [...groups.entries()]
      .map(([key, group]) => ({ key, ...finish(group) }))
      .sort((a, b) => a.key.localeCompare(b.key)),
  };
}
