import * as z from 'zod';
import { RepoFullName, RunId, RunKind, RunStatus, Stage } from '../shared/domain/run';
import { GROUP_BY } from '../shared/domain/cost-rollup';
import { customIssue } from '../shared/domain/custom-issue';
import { MAX_TOKEN_CHARS } from './cursor';

/**
 * The REST API's request and response shapes: requests are validated with these schemas, and
 * the OpenAPI document (openapi.ts) is generated from the very same objects. Field names are
 * snake_case, like `next_token` and `request_id` in SPEC §3.
 */

// ---------------------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------------------
export const CreateRunBody = z
  .strictObject({
    repo: RepoFullName.meta({ description: 'owner/repo', example: 'acme/widgets' }),
    issue: z.number().int().positive().optional().meta({ description: 'Issue number (a change run)' }),
    pr: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: 'Pull request number (a review or rescue run)' }),
    task: z
      .string()
      .trim()
      .min(1)
      .max(20_000)
      .optional()
      .meta({ description: 'Free-text task instead of an issue' }),
    kind: RunKind.default('change'),
  })
  .superRefine((body, ctx) => {
    if (body.kind === 'follow-up') {
      customIssue(
        ctx,
        ['kind'],
        "follow-up runs start from a `/factory <instructions>` comment or a review requesting changes on the factory's pull request",
      );
      return;
    }
    if (body.kind === 'change') {
      if ((body.issue === undefined) === (body.task === undefined))
        customIssue(ctx, ['issue'], 'give exactly one of issue or task');
      if (body.pr !== undefined) customIssue(ctx, ['pr'], 'a change run takes an issue or a task, not pr');
      return;
    }
    // Runs on a pull request: `pr` (`issue` is still taken for it, as before `pr` existed).
    if ((body.pr === undefined) === (body.issue === undefined) || body.task !== undefined)
      customIssue(ctx, ['pr'], `${body.kind} runs need a pull request number in pr`);
  })
  .transform(({ pr, ...body }) => ({ ...body, issue: body.issue ?? pr }))
  .meta({ id: 'CreateRunRequest' });
export type CreateRunBody = z.infer<typeof CreateRunBody>;

/** POST /v1/runs/{id}/retry: optionally a budget for the new run, within the repository's cap. */
export const RetryRunBody = z.strictObject({
  budget_usd: z.number().min(0.01).max(500).optional().meta({
    description:
      "The new run's budget in USD instead of the repository's budget_usd; admit refuses it over the repository's monthly_budget_usd",
  }),
});

/** A whole number written plainly in digits: no `0x10`, `1e1`, `1.0`, signs or spaces. */
const DigitsInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,9})$/, { error: 'must be a whole number written in digits' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const Limit = (fallback: number) =>
  DigitsInt(1, 100)
    .optional()
    .transform((value) => value ?? fallback)
    .meta({ description: `Page size, 1-100 (default ${fallback})` });
const NextToken = z
  .string()
  .min(1)
  .max(MAX_TOKEN_CHARS)
  .meta({ description: 'Opaque token from a previous page' });

export const ListRunsQuery = z.strictObject({
  repo: RepoFullName.optional(),
  status: RunStatus.optional(),
  kind: RunKind.optional(),
  limit: Limit(20),
  next_token: NextToken.optional(),
});
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

export const PageQuery = z.strictObject({ limit: Limit(50), next_token: NextToken.optional() });

export const EventsQuery = PageQuery.extend({
  after: DigitsInt(0, 2 ** 31)
    .optional()
    .meta({ description: 'Only events with a larger seq: what a poller has not seen yet' }),
});

export const AuditQuery = z.strictObject({ limit: Limit(100), next_token: NextToken.optional() });

export const RunIdParams = z.strictObject({ id: RunId.meta({ description: 'Run id (ULID)' }) });

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z)?$/, {
    error: 'expected YYYY-MM-DD or an ISO time in UTC',
  })
  .refine((value) => Number.isFinite(Date.parse(value)), { error: 'not a real date' });

export const CostsQuery = z.strictObject({
  repo: RepoFullName.optional(),
  from: Day.optional().meta({
    description: 'Runs created at or after (default: the 1st of this month, UTC)',
  }),
  to: Day.optional().meta({ description: 'Runs created before (a date: the end of that day; default now)' }),
  group_by: z.enum(GROUP_BY).optional(),
});
export type CostsQuery = z.infer<typeof CostsQuery>;

const CostTotalsShape = {
  runs: z.number().int().nonnegative(),
  model_usd: z.number().nonnegative(),
  infra_usd: z.number().nonnegative(),
  total_usd: z.number().nonnegative(),
  merged_prs: z.number().int().nonnegative(),
  cost_per_merged_pr_usd: z.number().nonnegative().nullable(),
  unmerged_runs: z.number().int().nonnegative(),
  unmerged_usd: z.number().nonnegative().meta({ description: 'What runs that merged nothing cost' }),
};

export const CostsView = z
  .object({
    from: z.string(),
    to: z.string(),
    repo: z.string().optional(),
    group_by: z.enum(GROUP_BY).optional(),
    total: z.object(CostTotalsShape),
    groups: z.array(z.object({ key: z.string(), ...CostTotalsShape })),
    budget: z.object({
      month: z.string(),
      repos: z.array(
        z.object({
          repo: z.string(),
          limit_usd: z.number().nonnegative(),
          spent_usd: z.number().nonnegative(),
          reserved_usd: z.number().nonnegative(),
          left_usd: z.number(),
        }),
      ),
      left_usd: z
        .number()
        .nullable()
        .meta({ description: 'Sum over repos with a monthly cap; null when none has one' }),
    }),
    truncated: z
      .boolean()
      .meta({ description: 'More runs matched than one answer reads: narrow the range or the repo' }),
  })
  .meta({ id: 'Costs' });
export type CostsView = z.infer<typeof CostsView>;
export const CostsEnvelope = z.object({ data: CostsView });

export const WorkItemParams = z.strictObject({
  owner: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
  repo: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
  issue: DigitsInt(1, 2 ** 31),
});

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: 'Repeat a POST safely: the same key returns the same run (200 instead of 201)' }),
});

// ---------------------------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------------------------
export const StageView = z
  .object({
    name: Stage,
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'WAITING']),
    started_at: z.string(),
    ended_at: z.string().optional(),
    duration_ms: z.number().int().nonnegative().optional(),
    attempt: z.number().int().nonnegative().optional(),
  })
  .meta({ id: 'Stage' });

const Tokens = {
  llm_calls: z.number().int().nonnegative(),
  input_tokens: z
    .number()
    .int()
    .nonnegative()
    .meta({ description: 'Uncached input tokens (the model API’s input_tokens)' }),
  output_tokens: z.number().int().nonnegative(),
  cache_read_tokens: z
    .number()
    .int()
    .nonnegative()
    .meta({ description: 'Input tokens read from the prompt cache' }),
  cache_write_tokens: z
    .number()
    .int()
    .nonnegative()
    .meta({ description: 'Input tokens written to the prompt cache' }),
  total_input_tokens: z
    .number()
    .int()
    .nonnegative()
    .meta({ description: 'input_tokens + cache_write_tokens + cache_read_tokens' }),
  cost_usd: z.number().nonnegative(),
};

export const LedgerView = z
  .object({
    ...Tokens,
    by_stage: z.array(
      z.object({
        stage: z.string(),
        provider: z.string().optional().meta({
          description:
            'The provider that answered (anthropic, bedrock, openai-compatible); absent on sandbox rows and older entries',
        }),
        model: z.string(),
        ...Tokens,
        cache_write_5m_tokens: z.number().int().nonnegative(),
        cache_write_1h_tokens: z.number().int().nonnegative(),
      }),
    ),
  })
  .meta({
    id: 'Ledger',
    description: 'Totals, then per stage, provider and model (from the per-call ledger)',
  });

export const ApprovalView = z
  .object({
    approver: z.string(),
    state: z.enum(['PENDING', 'APPROVED', 'REJECTED', 'SUPERSEDED', 'EXPIRED']),
    head_sha: z.string(),
    expires_at: z.string(),
    decided_at: z.string().optional(),
    comment: z.string().optional(),
  })
  .meta({ id: 'Approval' });

export const RunSummaryView = z
  .object({
    id: RunId,
    kind: RunKind,
    repo: RepoFullName,
    issue: z.number().int().positive().optional(),
    work_item: z.string(),
    status: RunStatus,
    stage: Stage.optional(),
    created_at: z.string(),
    updated_at: z.string(),
    ended_at: z.string().optional(),
    pr_url: z.string().optional(),
    cost_usd: z.number().nonnegative(),
  })
  .meta({ id: 'RunSummary' });

const Usd = z.number().nonnegative();
export const CostView = z
  .object({
    model_usd: Usd.meta({
      description: "The ledger's cost: model calls and sandbox jobs, billed as they ran",
    }),
    infra_usd: Usd.meta({ description: 'Estimated AWS cost (the sum of `infra`)' }),
    total_usd: Usd,
    infra: z.object({
      step_functions_usd: Usd,
      transitions: z.number().int().nonnegative(),
      lambda_usd: Usd,
      lambda_gb_seconds: z.number().nonnegative(),
      lambda_requests: z.number().int().nonnegative(),
      sandbox_seconds: z.number().nonnegative(),
      dynamodb_usd: Usd,
      sqs_usd: Usd,
    }),
  })
  .meta({
    id: 'RunCost',
    description:
      'Model cost from the ledger; infra cost estimated from the counts the run recorded at AWS list prices (functions/shared/domain/infra-cost.ts)',
  });

export const RunView = RunSummaryView.extend({
  title: z.string().optional(),
  task: z.string().optional(),
  trigger: z.object({ source: z.string(), sender: z.string(), command: z.string().optional() }),
  duration_ms: z.number().int().nonnegative().optional(),
  stages: z.array(StageView),
  pull_request: z
    .object({
      number: z.number().int().positive(),
      url: z.string().optional(),
      branch: z.string().optional(),
      head_sha: z.string().optional(),
      merged_sha: z.string().optional(),
    })
    .optional(),
  checks: z.object({ conclusion: z.string().optional(), rounds: z.number().int().nonnegative() }),
  approvals: z.array(ApprovalView),
  ledger: LedgerView,
  cost: CostView,
  error: z.object({ class: z.string(), cause: z.string() }).optional(),
  fix_attempts: z.number().int().nonnegative(),
  plan_summary: z.string().optional(),
  review_summary: z.string().optional(),
  warnings: z.array(z.string()),
}).meta({ id: 'Run' });
export type RunView = z.infer<typeof RunView>;
export type RunSummaryView = z.infer<typeof RunSummaryView>;

export const EventView = z
  .object({
    seq: z.number().int().nonnegative(),
    type: z.string(),
    actor: z.string(),
    at: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
    hash: z.string(),
    prev_hash: z.string(),
  })
  .meta({ id: 'AuditEvent' });

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const AuditChainView = z
  .object({
    run_id: RunId,
    genesis_hash: Sha256Hex.meta({ description: 'prev_hash of event 0: 64 zeros' }),
    head: z.object({ seq: z.number().int().nonnegative(), hash: Sha256Hex }).nullable().optional().meta({
      description:
        'The chain head recorded on the run item at each append; on the last page only (null: none recorded)',
    }),
    events: z.array(EventView),
  })
  .meta({ id: 'AuditChain', description: 'The hash chain of a run (docs/api.md, "Audit")' });
export type AuditChainView = z.infer<typeof AuditChainView>;

export const WorkItemView = z
  .object({
    key: z.string(),
    repo: RepoFullName,
    issue: z.number().int().positive().optional(),
    title: z.string().optional(),
    created_at: z.string(),
    updated_at: z.string(),
    latest_run_id: RunId.optional(),
    branch: z.string().optional(),
    pr_number: z.number().int().positive().optional(),
  })
  .meta({ id: 'WorkItem' });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable code: BadRequest, Unauthorized, NotFound, …' }),
      message: z.string(),
      request_id: z.string(),
    }),
  })
  .meta({ id: 'Error' });

export const dataOf = <T extends z.ZodType>(schema: T) => z.object({ data: schema });
export const pageOf = <T extends z.ZodType>(schema: T) =>
  z.object({ data: z.array(schema), next_token: z.string().optional() });

export const RunEnvelope = dataOf(RunView);
export const RunPage = pageOf(RunSummaryView);
export const EventPage = pageOf(EventView);
export const AuditPage = z.object({ data: AuditChainView, next_token: z.string().optional() });
export const WorkItemEnvelope = z.object({
  data: z.object({
    // Present on the first page only.
    work_item: WorkItemView.optional(),
    runs: z.array(RunSummaryView),
  }),
  next_token: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// copilot asks
// ---------------------------------------------------------------------------------------------
export const CreateAskBody = z.strictObject({
  question: z
    .string()
    .trim()
    .min(1)
    .max(2000)
    .meta({ description: 'A question about runs', example: 'which runs failed today and why' }),
  repo: RepoFullName.optional().meta({ description: 'Only this repository (else every one the key sees)' }),
});
export type CreateAskBody = z.infer<typeof CreateAskBody>;

export const AskIdParams = z.strictObject({ id: RunId.meta({ description: 'Ask id (ULID)' }) });

export const ProposalView = z
  .object({
    action: z.enum(['retry', 'cancel', 'open_run', 'open_approval']),
    target: RunId.meta({ description: 'The run the action is about' }),
    payload: z
      .object({
        method: z.enum(['GET', 'POST']),
        path: z.string(),
        body: z.record(z.string(), z.unknown()).optional(),
      })
      .meta({ description: 'The request that performs it, sent only when a person confirms it' }),
    reason: z.string(),
  })
  .meta({ id: 'Proposal' });

export const AskView = z
  .object({
    id: RunId,
    status: z.enum(['PENDING', 'ANSWERED', 'FAILED']),
    question: z.string(),
    repo: z.string().optional(),
    answer: z.string().nullable(),
    proposals: z.array(ProposalView),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    cost_usd: z.number().nonnegative(),
    llm_calls: z.number().int().nonnegative(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Ask' });
export type AskView = z.infer<typeof AskView>;
export const AskEnvelope = z.object({ data: AskView });
