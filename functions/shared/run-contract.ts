import * as z from 'zod';
import { ThinkingBudgets } from './domain/thinking';
import { defaultTurns, StageTurns } from './domain/turns';
import { repoRefOf, type Run } from './domain/run';
import type { RepoRef } from './ports';

const Models = z.array(z.string().min(1)).min(1).max(5);

/**
 * What a run may do, snapshotted on the run at admit: the repo's contract (from
 * `.github/factory.yml` on the default branch, merged over safe defaults) plus the resolved model
 * lists, budget and wait timeouts. Later stages read only this snapshot, never the PR's branch.
 */
export const RunContract = z.object({
  /** The repo's path/size rules as parsed by domain/contract.ts. */
  policy: z.record(z.string(), z.unknown()),
  models: z.object({ planner: Models, coder: Models, reviewer: Models, fast: Models }),
  budgetUsd: z.number().positive(),
  monthlyBudgetUsd: z.number().positive().optional(),
  maxFixAttempts: z.number().int().min(0).max(10),
  approvers: z.array(z.object({ login: z.string(), email: z.string().email() })).max(20),
  requiredChecks: z.array(z.string()).max(50),
  riskyPermissions: z.array(z.string()).max(20),
  /** The sandbox (absent on runs admitted before it existed: no checks, no network). */
  environment: z
    .object({
      /** Where the sandbox has no per-repository image (Lambda, the local runner), a warning only. */
      image: z.string().optional(),
      /** Run once per workspace with network; their new files are cached (see stages/setup-cache.ts). */
      setup: z.array(z.string()).max(10).default([]),
      checks: z.array(z.string()).max(10),
      network: z.boolean(),
      checkAttempts: z.number().int().positive(),
      maxRunSeconds: z.number().int().positive(),
    })
    .default({ setup: [], checks: [], network: false, checkAttempts: 2, maxRunSeconds: 600 }),
  /** Model turns per agent stage (`limits.turns`; defaults on runs admitted before it existed). */
  turns: StageTurns.default(defaultTurns),
  /** CI evidence longer than this is summarised by `fast` before a fix (0, and runs from before it: never). */
  ciLogSummaryChars: z.number().int().nonnegative().default(0),
  /** Extended thinking budget tokens by stage, within the operator's cap; absent = no thinking. */
  thinking: ThinkingBudgets.optional(),
  timeouts: z.object({
    llmTurnSeconds: z.number().int().positive(),
    clarifySeconds: z.number().int().positive(),
    checksSeconds: z.number().int().positive(),
    /** How long the checks wait sits before it re-reads CI itself (a lost webhook; decision 0006). */
    checksRecheckSeconds: z.number().int().positive().default(300),
    approvalSeconds: z.number().int().positive(),
  }),
});
export type RunContract = z.infer<typeof RunContract>;

/** The run's repository, as the GitHub port addresses it. */
export function repoOf(run: Pick<Run, 'repo'>): RepoRef {
  return repoRefOf(run.repo);
}

/** The run's contract snapshot, validated; throws if admit has not written it. */
export function contractOf(run: Run): RunContract {
  if (!run.contract) throw new Error(`run ${run.runId} has no contract snapshot (admit did not run)`);
  return RunContract.parse(run.contract);
}
