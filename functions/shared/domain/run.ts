import * as z from 'zod';

/**
 * Kinds of run (SPEC §1). `change` is the main job; the others reuse its stages. A `follow-up`
 * continues a factory PR on its own branch, from a `/factory <instructions>` comment or a review
 * that requests changes.
 */
export const RUN_KINDS = ['change', 'review', 'rescue', 'follow-up'] as const;
export const RunKind = z.enum(RUN_KINDS);
export type RunKind = z.infer<typeof RunKind>;

/**
 * Run statuses. Terminal ones end the run; the transition table lives in `transitions.ts`.
 * QUEUED: recorded, execution being started. Everything after is written by the pipeline.
 */
export const RUN_STATUSES = [
  'QUEUED',
  'PLANNING',
  'AWAITING_CLARIFICATION',
  'IMPLEMENTING',
  'VERIFYING',
  'REVIEWING',
  'AWAITING_APPROVAL',
  'MERGING',
  'SUCCEEDED',
  'FAILED',
  'BLOCKED',
  'REJECTED',
  'EXPIRED',
  'TIMED_OUT',
  'CANCELLED',
  'STOPPED',
  'SUPERSEDED',
] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'BLOCKED',
  'REJECTED',
  'EXPIRED',
  'TIMED_OUT',
  'CANCELLED',
  'STOPPED',
  // A follow-up run took over its pull request; its approval links are stale, nothing is closed.
  'SUPERSEDED',
]);
export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.has(status);

/** Stages of the pipeline (SPEC §2). State names in the ASL start with these. */
export const STAGES = [
  'admit',
  'plan',
  'clarify',
  'implement',
  'boundary',
  'publish',
  'checks',
  'review',
  'approval',
  'merge',
  'revert',
  'finalize',
] as const;
export const Stage = z.enum(STAGES);
export type Stage = z.infer<typeof Stage>;

export const RepoFullName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, 'expected owner/repo');
export type RepoFullName = z.infer<typeof RepoFullName>;

/** ULIDs: 26 Crockford base32 chars, time-ordered, so they sort newest-last. */
export const RunId = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'expected a ULID');

export const StageRecord = z.object({
  name: Stage,
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'WAITING']),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  ms: z.number().int().nonnegative().optional(),
  attempt: z.number().int().nonnegative().optional(),
  note: z.string().max(2000).optional(),
});
export type StageRecord = z.infer<typeof StageRecord>;

export const LedgerTotals = z.object({
  llmCalls: z.number().int().nonnegative(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheWriteTokens: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
  /** Sandbox seconds billed (their cost is in costUsd); absent until a run's first sandbox job. */
  sandboxSeconds: z.number().nonnegative().optional(),
});
export type LedgerTotals = z.infer<typeof LedgerTotals>;
export const emptyLedger = (): LedgerTotals => ({
  llmCalls: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  costUsd: 0,
});

export const RunError = z.object({
  class: z.string().max(100),
  cause: z.string().max(4000),
});
export type RunError = z.infer<typeof RunError>;

export const Trigger = z.object({
  source: z.enum(['label', 'comment', 'api', 'retry', 'review']),
  sender: z.string().max(100),
  deliveryId: z.string().max(100).optional(),
  command: z.string().max(40).optional(),
});
export type Trigger = z.infer<typeof Trigger>;

/** A Run item as stored (SPEC §1). `version` is the optimistic-lock counter. */
export const Run = z.object({
  runId: RunId,
  kind: RunKind,
  repo: RepoFullName,
  /** The issue; for a run on a pull request (review, rescue), the PR's number (PRs are issues). */
  issueNumber: z.number().int().positive().optional(),
  /** `owner/repo#issue`, or `owner/repo@task-<ulid>` for API-started free-text work. */
  workItemKey: z.string().max(250),
  task: z.string().max(20_000).optional(),
  status: RunStatus,
  stage: Stage.optional(),
  version: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  trigger: Trigger,
  stages: z.array(StageRecord).default([]),
  baseSha: z.string().optional(),
  headSha: z.string().optional(),
  branch: z.string().optional(),
  prNumber: z.number().int().positive().optional(),
  prUrl: z.string().optional(),
  mergedSha: z.string().optional(),
  fixAttempts: z.number().int().nonnegative().default(0),
  ledger: LedgerTotals.default(emptyLedger),
  transitions: z.number().int().nonnegative().default(0),
  error: RunError.optional(),
  executionArn: z.string().optional(),
  endedAt: z.string().optional(),
  /** The effective contract, snapshotted at admit from the default branch (never from a PR). */
  contract: z.record(z.string(), z.unknown()).optional(),
  issueTitle: z.string().max(1000).optional(),
  /** Short summary of the accepted plan (shown in comments, the approval email, the API). */
  planSummary: z.string().max(4000).optional(),
  /** The rest of the accepted plan, for the implement and review prompts. */
  plan: z
    .object({
      files: z.array(z.string().max(1024)).max(100).default([]),
      testPlan: z.string().max(4000).default(''),
      risks: z.array(z.string().max(1000)).max(20).default([]),
    })
    .optional(),
  /** What the next implement attempt must fix (boundary violations, failing checks, review findings). */
  feedback: z
    .object({
      kind: z.enum(['boundary', 'checks', 'review']),
      text: z.string().max(20_000),
      /** Stable fingerprint of the failure: the same failure twice stops the fix loop early. */
      signature: z.string().max(200).optional(),
      /** Failing checks: when the CI wait they ended began (a retried decision changes nothing). */
      checksWait: z.string().max(40).optional(),
      /** Failing checks: where their full logs are kept (workspaces bucket keys, `ci-logs/…`). */
      logKeys: z.array(z.string().max(400)).max(20).optional(),
      /** Failing checks with long logs: what the `fast` alias read in them (stages/ci-summary.ts). */
      summary: z.string().max(2000).optional(),
    })
    .optional(),
  failureSignatures: z.array(z.string().max(200)).max(50).default([]),
  clarifyRounds: z.number().int().nonnegative().default(0),
  /** Open questions of the plan stage, and the answers people gave (bounded, untrusted text). */
  questions: z.array(z.string().max(2000)).max(20).default([]),
  answers: z.array(z.string().max(8000)).max(3).default([]),
  /** Conversation ids by stage attempt, for replay and the console. */
  conversations: z
    .array(z.object({ stage: Stage, conversationId: z.string() }))
    .max(100)
    .default([]),
  /** The one issue comment the factory keeps updated with the run's progress. */
  statusCommentId: z.number().int().positive().optional(),
  warnings: z.array(z.string().max(500)).max(50).default([]),
  /** Review findings and check results, summarised for the approval email and the API. */
  checksConclusion: z.string().max(40).optional(),
  /** Resumes of the checks wait that found suites still pending (bounded). */
  checksRounds: z.number().int().nonnegative().default(0),
  /** Failed rounds of `environment.checks` in the current implement attempt (bounded by the contract). */
  sandboxCheckFailures: z.number().int().nonnegative().default(0),
  /** Failed rounds of checks detected from the repository in the current attempt (advice only). */
  detectedCheckFailures: z.number().int().nonnegative().default(0),
  /** The implement stage's commit message for the next publish. */
  commitMessage: z.string().max(5000).optional(),
  /** The head SHA a human approved; merge refuses any other head. */
  approvedSha: z.string().optional(),
  approvedBy: z.string().max(100).optional(),
  reviewSummary: z.string().max(4000).optional(),
  /** A review run: the GitHub review it posted (a retried step never posts a second one). */
  reviewId: z.number().int().positive().optional(),
  /**
   * A review run over a large PR, reviewed in parts of its diff (one conversation each): the part
   * under review, and what the finished parts found, posted together as one review at the end (or
   * as a partial review when the run stops).
   */
  reviewParts: z
    .object({
      index: z.number().int().nonnegative(),
      total: z.number().int().positive(),
      comments: z
        .array(
          z.object({
            path: z.string().max(1024),
            line: z.number().int().positive(),
            side: z.enum(['RIGHT', 'LEFT']),
            body: z.string().max(4000),
            blocking: z.boolean(),
          }),
        )
        .max(30)
        .default([]),
      summaries: z.array(z.string().max(2000)).max(10).default([]),
      /** The conversations of the finished parts: a retried submission never counts twice. */
      finished: z.array(z.string().max(80)).max(10).default([]),
    })
    .optional(),
  /** A retry that resumes a STOPPED run: its branch, the head its change was read from, its base. */
  resumedFrom: z
    .object({
      runId: RunId,
      branch: z.string().max(255),
      headSha: z.string().max(64),
      baseSha: z.string().max(64),
      prNumber: z.number().int().positive().optional(),
    })
    .optional(),
  /**
   * A follow-up run: the factory PR it continues, and what people asked on it (untrusted text,
   * fenced in the implement prompt): a `/factory <instructions>` comment, or a review requesting
   * changes with its inline comments (read at admit).
   */
  followUp: z
    .object({
      prNumber: z.number().int().positive(),
      branch: z.string().max(255),
      /** The run that opened or last continued the PR. */
      fromRunId: RunId,
      sender: z.string().max(100),
      instructions: z.string().max(8000).default(''),
      reviewId: z.number().int().positive().optional(),
      reviewComments: z
        .array(
          z.object({
            path: z.string().max(1024),
            line: z.number().int().nonnegative(),
            body: z.string().max(4000),
          }),
        )
        .max(50)
        .default([]),
    })
    .optional(),
  /**
   * A rescue run: the commits it pushed on the PR's branch (what it tried, for the final comment),
   * and whether it already re-applied its change once over someone's push.
   */
  rescue: z
    .object({
      pushes: z
        .array(z.object({ sha: z.string().max(64), subject: z.string().max(200) }))
        .max(20)
        .default([]),
      reapplied: z.boolean().default(false),
    })
    .optional(),
  /** A retry's budget (`budget_usd` of POST /v1/runs/{id}/retry), in place of the repository's. */
  budgetUsd: z.number().positive().max(500).optional(),
});
export type Run = z.infer<typeof Run>;

export const WorkItem = z.object({
  key: z.string().max(250),
  repo: RepoFullName,
  issueNumber: z.number().int().positive().optional(),
  title: z.string().max(1000).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  latestRunId: RunId.optional(),
  branch: z.string().optional(),
  prNumber: z.number().int().positive().optional(),
});
export type WorkItem = z.infer<typeof WorkItem>;

/**
 * GitHub owner and repository names are case-insensitive: `Acme/Widgets` and `acme/widgets` are
 * one repository, so every key built from a repo name uses this form (one work item, one active
 * run, one listing, one monthly budget per repository, whatever case a caller writes).
 */
export const canonicalRepo = (repo: string): string => repo.toLowerCase();

/** `owner/repo` as the GitHub port addresses it. */
export function repoRefOf(fullName: string): { owner: string; repo: string } {
  const [owner = '', repo = ''] = fullName.split('/');
  return { owner, repo };
}

export const workItemKeyOf = (repo: string, issueNumber: number): string =>
  `${canonicalRepo(repo)}#${issueNumber}`;

/** What a run waiting on CI is found by when a check_suite / workflow_run webhook arrives. */
export const checksWaitKeyOf = (repo: string, sha: string): string => `${canonicalRepo(repo)}@${sha}`;

/** A free-text task's first line, as the run's title (PR title, branch slug). */
export function taskTitle(task: string): string {
  const line = task.trim().split('\n')[0]?.trim() ?? '';
  return (line.length > 80 ? `${line.slice(0, 77)}...` : line) || 'Code Factory task';
}
