import * as z from 'zod';
import { customIssue } from './custom-issue';

/**
 * What every LLM stage returns through its terminal tool (SPEC §1 StageResult): the common
 * StageResult fields plus the stage's payload, flat in one tool input (snake_case, as a model
 * writes it). Sizes are bounded because the result is stored and shown. A NEEDS_CLARIFICATION
 * without questions or a BLOCKED without blockers is invalid: non-COMPLETE never proceeds silently.
 * Unknown keys are dropped (models add extras), never passed on.
 */

export const STAGE_RESULT_STATUSES = ['COMPLETE', 'NEEDS_CLARIFICATION', 'BLOCKED'] as const;
export const StageResultStatus = z.enum(STAGE_RESULT_STATUSES);
export type StageResultStatus = z.infer<typeof StageResultStatus>;

export const BOUNDS = {
  summary: 4000,
  item: 1000,
  items: 20,
  questions: 10,
  criteria: 30,
  files: 100,
  testPlan: 4000,
  commitMessage: 5000,
  commitSubject: 200,
  findings: 50,
  finding: 2000,
} as const;

const line = (max: number) => z.string().trim().min(1).max(max);
const list = (max: number, itemMax: number = BOUNDS.item) => z.array(line(itemMax)).max(max).default([]);

const stageResultShape = {
  status: StageResultStatus,
  summary: line(BOUNDS.summary),
  assumptions: list(BOUNDS.items),
  questions: list(BOUNDS.questions),
  blockers: list(BOUNDS.items),
};

type StageResultFields = {
  status: StageResultStatus;
  questions: string[];
  blockers: string[];
};

function checkStatusNeeds(result: StageResultFields, ctx: z.RefinementCtx): void {
  if (result.status === 'NEEDS_CLARIFICATION' && result.questions.length === 0)
    customIssue(ctx, ['questions'], 'NEEDS_CLARIFICATION needs at least one question');
  if (result.status === 'BLOCKED' && result.blockers.length === 0)
    customIssue(ctx, ['blockers'], 'BLOCKED needs at least one blocker');
}

export const StageResult = z.object(stageResultShape).superRefine(checkStatusNeeds);
export type StageResult = z.infer<typeof StageResult>;

// ---------------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------------

const RepoPath = z
  .string()
  .trim()
  .min(1)
  .max(1024)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\\'), {
    error: 'must be a repository-relative path without ..',
  });

export const PlanPayload = z.object({
  acceptance_criteria: list(BOUNDS.criteria),
  files_to_touch: z.array(RepoPath).max(BOUNDS.files).default([]),
  test_plan: z.string().trim().max(BOUNDS.testPlan).default(''),
  risks: list(BOUNDS.items),
  cost_estimate_usd: z.number().nonnegative().max(10_000).default(0),
});
export type PlanPayload = z.infer<typeof PlanPayload>;

export const ChangePayload = z.object({
  commit_message: z.string().trim().max(BOUNDS.commitMessage).default(''),
});
export type ChangePayload = z.infer<typeof ChangePayload>;

export const FINDING_SEVERITIES = ['blocking', 'major', 'minor', 'nit'] as const;
export const ReviewFinding = z.object({
  severity: z.enum(FINDING_SEVERITIES),
  path: RepoPath.optional(),
  line: z.number().int().positive().max(10_000_000).optional(),
  message: line(BOUNDS.finding),
});
export type ReviewFinding = z.infer<typeof ReviewFinding>;

export const ReviewPayload = z.object({
  findings: z.array(ReviewFinding).max(BOUNDS.findings).default([]),
});
export type ReviewPayload = z.infer<typeof ReviewPayload>;

// ---------------------------------------------------------------------------------------------
// Terminal tool inputs: StageResult + payload, flat
// ---------------------------------------------------------------------------------------------

export const PlanResult = z
  .object({ ...stageResultShape, ...PlanPayload.shape })
  .superRefine((result, ctx) => {
    checkStatusNeeds(result, ctx);
    if (result.status !== 'COMPLETE') return;
    if (result.acceptance_criteria.length === 0)
      customIssue(ctx, ['acceptance_criteria'], 'a COMPLETE plan needs acceptance criteria');
    if (result.files_to_touch.length === 0)
      customIssue(ctx, ['files_to_touch'], 'a COMPLETE plan names the files to touch');
    if (result.test_plan.length === 0) customIssue(ctx, ['test_plan'], 'a COMPLETE plan needs a test plan');
  });
export type PlanResult = z.infer<typeof PlanResult>;

export const ChangeResult = z
  .object({ ...stageResultShape, ...ChangePayload.shape })
  .superRefine((result, ctx) => {
    checkStatusNeeds(result, ctx);
    if (result.status !== 'COMPLETE') return;
    const subject = result.commit_message.split('\n')[0] ?? '';
    if (subject.trim().length === 0)
      customIssue(ctx, ['commit_message'], 'a COMPLETE change needs a commit message');
    else if (subject.length > BOUNDS.commitSubject)
      customIssue(
        ctx,
        ['commit_message'],
        `the commit message's first line must be at most ${BOUNDS.commitSubject} characters`,
      );
  });
export type ChangeResult = z.infer<typeof ChangeResult>;

export const ReviewResult = z
  .object({ ...stageResultShape, ...ReviewPayload.shape })
  .superRefine(checkStatusNeeds);
export type ReviewResult = z.infer<typeof ReviewResult>;

export const hasBlockingFindings = (review: Pick<ReviewResult, 'findings'>): boolean =>
  review.findings.some((f) => f.severity === 'blocking');

const SCHEMAS = { plan: PlanResult, implement: ChangeResult, review: ReviewResult } as const;
export type AgentStage = keyof typeof SCHEMAS;
type ResultOf<S extends AgentStage> = z.infer<(typeof SCHEMAS)[S]>;

/**
 * Validates a terminal tool's input. The errors are `field: message` lines fit to send back to the
 * model so it can correct its submission.
 */
export function parseStageResult<S extends AgentStage>(
  stage: S,
  input: unknown,
): { ok: true; result: ResultOf<S> } | { ok: false; errors: string[] } {
  const parsed = SCHEMAS[stage].safeParse(input);
  if (parsed.success) return { ok: true, result: parsed.data as ResultOf<S> };
  return {
    ok: false,
    errors: parsed.error.issues.slice(0, 20).map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`),
  };
}

/** JSON Schema of a terminal tool's input, for the tool definition offered to the model. */
export function stageResultJsonSchema(stage: AgentStage): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(SCHEMAS[stage], {
    io: 'input',
    unrepresentable: 'any',
  });
  return schema as Record<string, unknown>;
}
