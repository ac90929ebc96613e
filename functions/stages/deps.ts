import { type Run, taskTitle } from '../shared/domain/run';
import { type RunContract, repoOf } from '../shared/run-contract';
import type { ResolvedModelConfig } from '../shared/domain/models';
import { redactWork } from './redaction';
import type {
  Blobs,
  BudgetStore,
  LedgerStore,
  ApprovalStore,
  CacheStore,
  Clock,
  ConversationStore,
  EventStore,
  GitHub,
  Ids,
  IssueInfo,
  Log,
  Mailer,
  RepoRef,
  RunStore,
  Secrets,
  WaitStore,
  Workflow,
  WorkspaceStore,
} from '../shared/ports';

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
  /** Deployment config `sandbox.price_per_second_usd`: sandbox time in the ledger and budgets. */
  sandboxPricePerSecondUsd: number;
  /** Deployment-wide caps on the waits (short in tests); the repo's contract sets the rest. */
  maxWaitSeconds?: Partial<
    Pick<
      RunContract['timeouts'],
      'clarifySeconds' | 'checksSeconds' | 'checksRecheckSeconds' | 'approvalSeconds'
    >
  >;
}

/** The store slices the stages use: no deliveries, API keys or claims (sandbox time uses budget and ledger). */
export type StageStore = RunStore &
  BudgetStore &
  LedgerStore &
  EventStore &
  WaitStore &
  ApprovalStore &
  ConversationStore &
  WorkspaceStore &
  CacheStore;

export interface StagePorts {
  store: StageStore;
  github: GitHub;
  /** The workspaces bucket: repository snapshots. */
  blobs: Blobs;
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

/**
 * What a run works on: its issue, or for a free-text task started through the API the task in
 * the issue's shape (number 0: there is no issue to comment on or close).
 */
export async function workOf(deps: Pick<StagePorts, 'github' | 'store'>, run: Run): Promise<IssueInfo> {
  // Secrets in the text are redacted before any prompt sees it (an audit event when there are).
  return redactWork(deps, run, await unredactedWorkOf(deps, run));
}

async function unredactedWorkOf(deps: Pick<StagePorts, 'github'>, run: Run): Promise<IssueInfo> {
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
