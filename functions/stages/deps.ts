import * as z from 'zod';
import { repoRefOf, type Run, taskTitle } from '../shared/domain/run';
import type { ToolContext } from './tools';
import type { ResolvedModelConfig } from '../shared/domain/models';
import type {
  Clock,
  GitHub,
  Ids,
  IssueInfo,
  Log,
  Mailer,
  RepoRef,
  Secrets,
  Store,
  Workflow,
} from '../shared/ports';

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
  timeouts: z.object({
    llmTurnSeconds: z.number().int().positive(),
    clarifySeconds: z.number().int().positive(),
    checksSeconds: z.number().int().positive(),
    approvalSeconds: z.number().int().positive(),
  }),
});
export type RunContract = z.infer<typeof RunContract>;

/** Deployment-level settings of the stage runner (from the environment contract). */
export interface StageSettings {
  publicBaseUrl: string;
  mailFrom: string;
  botLogin: string;
  approvalKeySecretId: string;
  defaultApprovers: Array<{ login: string; email: string }>;
  /** The deployment's model aliases and price table (MODEL_CONFIG over the defaults). */
  models: ResolvedModelConfig;
  /** Runs of one repository that may be active at once; admit refuses beyond it. */
  maxActiveRunsPerRepo: number;
  /** How long one queued model turn may take, retries included. */
  llmTurnSeconds: number;
  /** Deployment-wide caps on the waits (short in tests); the repo's contract sets the rest. */
  maxWaitSeconds?: Partial<
    Pick<RunContract['timeouts'], 'clarifySeconds' | 'checksSeconds' | 'approvalSeconds'>
  >;
}

export interface StageDeps {
  store: Store;
  github: GitHub;
  workflow: Workflow;
  mailer: Mailer;
  secrets: Secrets;
  ids: Ids;
  clock: Clock;
  log: Log;
  settings: StageSettings;
  /** ISO timestamp from the clock. */
  now(): string;
  repoOf(run: Run): RepoRef;
  /** The run's contract snapshot; throws if admit has not written it. */
  contractOf(run: Run): RunContract;
}

export function repoOf(run: Pick<Run, 'repo'>): RepoRef {
  return repoRefOf(run.repo);
}

export function contractOf(run: Run): RunContract {
  if (!run.contract) throw new Error(`run ${run.runId} has no contract snapshot (admit did not run)`);
  return RunContract.parse(run.contract);
}

/**
 * What a run works on: its issue, or for a free-text task started through the API the task in
 * the issue's shape (number 0: there is no issue to comment on or close).
 */
export async function workOf(deps: Pick<StageDeps, 'github'>, run: Run): Promise<IssueInfo> {
  if (run.issueNumber) return deps.github.getIssue(repoOf(run), run.issueNumber);
  if (run.task) {
    return {
      number: 0,
      title: run.issueTitle ?? taskTitle(run.task),
      body: run.task,
      author: run.trigger.sender,
      state: 'open',
      labels: [],
    };
  }
  throw new Error(`run ${run.runId} has neither an issue nor a task`);
}

/** What the tools and the change-set readers work on: the run's repo at its base, its overlay. */
export function toolContextOf(deps: StageDeps, run: Run): ToolContext {
  return {
    github: deps.github,
    store: deps.store,
    repo: deps.repoOf(run),
    runId: run.runId,
    baseSha: run.baseSha ?? '',
    now: deps.now,
  };
}
