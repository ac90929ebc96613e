import * as z from 'zod';
import { commentableLines, describeLines, numberedPatch } from '../shared/domain/patch';
import type { Run } from '../shared/domain/run';
import { FactoryError } from '../shared/errors';
import type { IssueInfo, PullFile, ReviewComment } from '../shared/ports';
import { enterStage, mutateRun, recordRunError } from '../shared/run-state';
import { type AgentSpec, type LoopPointer, runAgentTools, startAgent } from './agent';
import { type StagePorts, workOf } from './deps';
import { readGuidance } from './guidance';
import { fairShares } from './prompt-diff';
import { REVIEW_DIFF_CHARS } from './prompt-context';
import { COMMON, fence } from './prompts';
import { workspaceOf } from './workspace';

/**
 * The `review` run (`/factory review` on a pull request, `POST /v1/runs {kind: "review"}`): the
 * reviewer reads the PR's diff against its merge base (in the first message, with line numbers)
 * and the repository at the PR's head through the read-only workbench tools, then calls
 * `submit_pr_review`; the factory posts ONE GitHub review with inline comments on changed lines:
 * REQUEST_CHANGES when a comment is blocking, otherwise COMMENT. It never approves and never pushes.
 */

/** Inline comments one review may carry (GitHub takes more; a reader does not). */
export const MAX_REVIEW_COMMENTS = 30;

const PrReviewSubmission = z.strictObject({
  status: z.enum(['COMPLETE', 'BLOCKED']),
  summary: z.string().min(1).max(4000),
  comments: z
    .array(
      z.strictObject({
        path: z.string().min(1).max(1024),
        line: z.number().int().positive(),
        side: z.enum(['RIGHT', 'LEFT']).default('RIGHT'),
        body: z.string().min(1).max(4000),
        blocking: z.boolean(),
      }),
    )
    .max(MAX_REVIEW_COMMENTS)
    .default([]),
  blockers: z.array(z.string().max(1000)).max(20).default([]),
});
type PrReviewSubmission = z.infer<typeof PrReviewSubmission>;

const { $schema: _ignored, ...submissionSchema } = z.toJSONSchema(PrReviewSubmission, { io: 'input' });

/** The PR a review run reviews is closed, merged or not a pull request: nothing to review. */
export class PullNotReviewable extends FactoryError {
  constructor(number: number, why: string) {
    super('PullNotReviewable', `pull request #${number} ${why}`);
  }
}

const REVIEW_MARKER = (runId: string) => `<!-- code-factory:review ${runId} -->`;

/**
 * Comments that GitHub would refuse (a line outside the diff's hunks, a file the PR does not
 * change), each with what the model can comment on instead.
 */
export function misplacedComments(
  files: readonly PullFile[],
  comments: PrReviewSubmission['comments'],
): string[] {
  const byPath = new Map(files.map((file) => [file.path, file]));
  return comments.flatMap((comment) => {
    const file = byPath.get(comment.path);
    if (!file) return [`${comment.path}: the pull request does not change this file`];
    const lines = commentableLines(file.patch)[comment.side];
    if (lines.has(comment.line)) return [];
    return [
      `${comment.path}:${comment.line} (${comment.side}) is not a line of the diff; lines you may comment on (${comment.side}): ${describeLines(lines)}`,
    ];
  });
}

function reviewBody(run: Run, review: PrReviewSubmission, blocking: number): string {
  const verdict = blocking
    ? `**Code Factory review: changes requested** (${blocking} blocking finding${blocking === 1 ? '' : 's'})`
    : '**Code Factory review**';
  const footer = `Run \`${run.runId}\` · $${run.ledger.costUsd.toFixed(2)} · ${run.ledger.llmCalls} model calls`;
  return `${verdict}\n\n${review.summary}\n\n---\n${footer}\n${REVIEW_MARKER(run.runId)}`.slice(0, 60_000);
}

export const reviewPrSpec: AgentSpec = {
  stage: 'review',
  alias: 'reviewer',
  allowWrites: false,
  // The workspace is the PR's head with nothing pending: `diff` would show nothing.
  omitTools: ['diff'],
  maxTokens: 8000,
  terminalTool: {
    name: 'submit_pr_review',
    description:
      'Post your review of the pull request: a summary and inline comments on lines of its diff. ' +
      'A comment marked blocking requests changes. Ends the review.',
    input_schema: submissionSchema as Record<string, unknown>,
  },
  async onSubmit(deps, run, input) {
    const parsed = PrReviewSubmission.safeParse(input);
    if (!parsed.success)
      return {
        outcome: 'continue',
        feedback: `Invalid submission:\n${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')}`,
      };
    const review = parsed.data;
    if (review.status === 'BLOCKED') {
      await recordRunError(deps, run.runId, 'Blocked', review.blockers.join('\n') || review.summary);
      return { outcome: 'blocked' };
    }
    const repo = deps.repoOf(run);
    const prNumber = run.prNumber as number;
    const parts = run.reviewParts;
    // A retried submission of a part already kept: on to the next one, nothing counted twice.
    const conversation = run.conversations.filter((c) => c.stage === 'review').at(-1)?.conversationId ?? '';
    if (parts?.finished.includes(conversation)) return { outcome: 'next' };
    const all = await deps.github.listPullFiles(repo, prNumber);
    const misplaced = misplacedComments(
      parts ? (reviewParts(all)[parts.index] ?? all) : all,
      review.comments,
    );
    if (misplaced.length)
      return {
        outcome: 'continue',
        feedback: `Not posted: GitHub only takes comments on lines of the diff${parts ? ' of this part' : ''}.\n${misplaced.join('\n')}\nMove or drop these comments, then call submit_pr_review again.`,
      };
    // A large PR's part that is not the last: keep what it found, then review the next part.
    if (parts && parts.index < parts.total - 1) {
      await mutateRun(deps, run.runId, (r) => ({
        reviewParts: {
          index: parts.index + 1,
          total: parts.total,
          comments: [...(r.reviewParts?.comments ?? []), ...review.comments].slice(0, MAX_REVIEW_COMMENTS),
          summaries: [...(r.reviewParts?.summaries ?? []), review.summary.slice(0, 2000)].slice(0, 10),
          finished: [...(r.reviewParts?.finished ?? []), conversation].slice(-10),
        },
      }));
      await deps.store.appendEvent(run.runId, {
        type: 'review.part',
        actor: 'reviewer',
        data: { part: parts.index + 1, parts: parts.total, comments: review.comments.length },
      });
      return { outcome: 'next' };
    }
    if (parts) {
      review.comments = [...parts.comments, ...review.comments].slice(0, MAX_REVIEW_COMMENTS);
      review.summary = [...parts.summaries, review.summary]
        .map((text, i) => `**Part ${i + 1} of ${parts.total}:** ${text}`)
        .join('\n\n');
    }
    const blocking = review.comments.filter((c) => c.blocking).length;
    // A retried step finds the review it posted already (the run records its id).
    if (!run.reviewId) {
      const comments: ReviewComment[] = review.comments.map((c) => ({
        path: c.path,
        line: c.line,
        side: c.side,
        body: c.blocking ? `**Blocking:** ${c.body}` : c.body,
      }));
      const posted = await deps.github.createReview(repo, prNumber, {
        body: reviewBody(run, review, blocking),
        // Never APPROVE: a review run advises, people decide.
        event: blocking ? 'REQUEST_CHANGES' : 'COMMENT',
        commitSha: run.headSha as string,
        comments,
      });
      await mutateRun(deps, run.runId, () => ({
        reviewId: posted.id,
        reviewSummary: review.summary.slice(0, 4000),
      }));
      await deps.store.appendEvent(run.runId, {
        type: 'review.posted',
        actor: 'reviewer',
        data: {
          prNumber,
          reviewId: posted.id,
          event: blocking ? 'REQUEST_CHANGES' : 'COMMENT',
          comments: comments.length,
          blocking,
        },
      });
    }
    return { outcome: 'complete' };
  },
};

/** One file of the PR as the prompt shows it: its header and numbered patch. */
function filePart(file: PullFile): string {
  const head = `--- ${file.previousPath ?? file.path}\n+++ ${file.path} (${file.status}, +${file.additions} -${file.deletions})`;
  return file.patch === undefined
    ? `${head}\n(no patch: binary or too large; read the file with read_file)`
    : `${head}\n${numberedPatch(file.patch)}`;
}

/** Parts a large PR's review is split into at most (the last one takes what is left, cut). */
export const MAX_REVIEW_PARTS = 10;

/**
 * A large PR's files in parts whose diffs each fit the prompt's diff budget, in the PR's order (a
 * file larger than the budget alone is a part of its own, cut as before). One part: a small PR.
 */
export function reviewParts(files: readonly PullFile[], budget = REVIEW_DIFF_CHARS): PullFile[][] {
  const parts: PullFile[][] = [];
  let size = 0;
  for (const file of files) {
    const length = filePart(file).length + 2;
    const current = parts.at(-1);
    if (current && (size + length <= budget || parts.length >= MAX_REVIEW_PARTS)) {
      current.push(file);
      size += length;
    } else {
      parts.push([file]);
      size = length;
    }
  }
  return parts.length > 0 ? parts : [[]];
}

/** The PR's patches, each numbered, sharing the prompt's diff budget fairly. */
function diffBlock(files: readonly PullFile[]): string {
  const parts = files.map(filePart);
  const shares = fairShares(
    parts.map((p) => p.length),
    REVIEW_DIFF_CHARS,
  );
  return parts
    .map((part, i) => {
      const share = shares[i] ?? part.length;
      return part.length <= share ? part : `${part.slice(0, share)}\n[… cut: read the file with read_file]`;
    })
    .join('\n\n');
}

export function reviewPrPrompt(
  run: Run,
  pull: IssueInfo,
  files: readonly PullFile[],
  guidance: string[],
  part?: { index: number; total: number; files: number },
): { system: string; user: string } {
  return {
    system: `${COMMON}

Stage: PULL REQUEST REVIEW (read-only). Here the workspace is the pull request's head commit, and
nothing is pending: the first message holds the pull request's diff against its merge base. Review
it, reading the changed files and the code they use where the diff is not enough, then call
submit_pr_review once.
- Comment only on lines of the diff. Each diff line shows its line number in the new file (removed
  lines show -N, their number in the old file: comment on those with side LEFT). Give the number,
  not the hunk position.
- Mark a comment blocking only for a real defect: wrong behaviour, a crash, a security problem, data
  loss, or a missing test for changed behaviour. Style and naming are never blocking.
- Where a fix is a line or two, put it in a \`\`\`suggestion block in the comment body.
- Keep the summary short: what the change does and what must change before it merges.`,
    user: [
      `Repository: ${run.repo}. Pull request #${pull.number} by ${pull.author}.`,
      fence('Pull request title', pull.title),
      fence('Pull request description', pull.body || '(empty)'),
      ...guidance,
      part
        ? `This pull request is large, so it is reviewed in parts: this is part ${part.index + 1} of ${part.total} (${files.length} of its ${part.files} changed files). The other parts are reviewed separately: comment only on this part's files, and summarise only this part.`
        : undefined,
      fence(
        `Diff against the merge base (${part ? `part ${part.index + 1} of ${part.total}, ` : ''}${files.length} files)`,
        diffBlock(files) || '(no changes)',
      ),
    ]
      .filter((line): line is string => line !== undefined)
      .join('\n\n'),
  };
}

export async function startReviewPr(deps: StagePorts, runId: string): Promise<LoopPointer> {
  const current = await deps.store.getRun(runId);
  if (!current) throw new Error(`run ${runId} not found`);
  const prNumber = current.prNumber ?? current.issueNumber;
  if (!prNumber) throw new PullNotReviewable(0, 'is not named by the run');
  const repo = deps.repoOf(current);
  const pull = await deps.github.getPull(repo, prNumber);
  if (pull.state !== 'open') throw new PullNotReviewable(prNumber, pull.merged ? 'is merged' : 'is closed');
  const all = await deps.github.listPullFiles(repo, prNumber);
  const parts = reviewParts(all);
  const index = Math.min(current.reviewParts?.index ?? 0, parts.length - 1);
  const files = parts[index] ?? [];
  // The workspace's base is the PR's head: the read tools see the code under review. Later parts
  // review the same head as the first.
  const run = await mutateRun(deps, runId, (r) => ({
    ...(r.stage === 'review' ? {} : enterStage(r, 'review', deps.now(), 'REVIEWING')),
    prNumber,
    prUrl: pull.url,
    ...(r.reviewParts ? {} : { baseSha: pull.headSha, headSha: pull.headSha }),
    ...(parts.length > 1
      ? {
          reviewParts: {
            index,
            total: parts.length,
            comments: r.reviewParts?.comments ?? [],
            summaries: r.reviewParts?.summaries ?? [],
            finished: r.reviewParts?.finished ?? [],
          },
        }
      : {}),
  }));
  const workspace = await workspaceOf(deps, run);
  const guidance = (
    await readGuidance(
      workspace.base,
      files.map((f) => f.path),
    )
  )
    .filter((g) => !g.omitted)
    .map((g) => fence(`Repository guidance from ${g.path}`, g.text));
  const part = parts.length > 1 ? { index, total: parts.length, files: all.length } : undefined;
  await deps.store.appendEvent(runId, {
    type: 'review.started',
    actor: 'stage-runner',
    data: {
      prNumber,
      headSha: run.headSha,
      files: files.length,
      ...(part ? { part: index + 1, parts: part.total } : {}),
    },
  });
  return startAgent(
    deps,
    run,
    reviewPrSpec,
    reviewPrPrompt(run, await workOf(deps, run), files, guidance, part),
  );
}

export async function reviewPrTools(deps: StagePorts, runId: string, conversationId: string, turn: number) {
  const run = await deps.store.getRun(runId);
  if (!run) throw new Error(`run ${runId} not found`);
  return runAgentTools(deps, run, reviewPrSpec, conversationId, turn);
}
