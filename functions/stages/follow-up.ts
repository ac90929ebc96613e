import type { Run } from '../shared/domain/run';
import { AdmissionRefusedError } from './admission-refused';
import type { StagePorts } from './deps';
import { fence } from './prompts';
import { redactText } from './redaction';

/**
 * A follow-up run (`/factory <instructions>` or a review requesting changes on the factory's PR):
 * no plan; implement starts from the PR's current head, which is its base, so its pending change
 * is only what the follow-up adds, published as commits on top of the same branch and PR.
 */

/** Inline comments of a review carried into the prompt (GitHub's first page holds 100). */
const MAX_REVIEW_COMMENTS = 50;

export interface FollowUpStart {
  headSha: string;
  prUrl: string;
  reviewComments: NonNullable<Run['followUp']>['reviewComments'];
}

/** The PR as it is now: still open on the run's branch; the review's inline comments, if any. */
export async function followUpStart(deps: StagePorts, run: Run): Promise<FollowUpStart | undefined> {
  const followUp = run.followUp;
  if (run.kind !== 'follow-up' || !followUp) return undefined;
  const repo = deps.repoOf(run);
  const pull = await deps.github.getPull(repo, followUp.prNumber);
  if (pull.state !== 'open' || pull.merged || pull.headRef !== followUp.branch)
    throw new AdmissionRefusedError(
      'PullNotOpen',
      `pull request #${followUp.prNumber} is no longer open on ${followUp.branch}; nothing was changed`,
    );
  const comments = followUp.reviewId
    ? await deps.github.listReviewComments(repo, followUp.prNumber, followUp.reviewId)
    : [];
  const kept = comments.slice(0, MAX_REVIEW_COMMENTS);
  // Secrets in the comments never reach the run record or a prompt (an audit event when redacted).
  const bodies = await redactText(
    deps,
    run,
    'comment',
    Object.fromEntries(kept.map((c, i) => [`reviewComment${i + 1}`, c.body.slice(0, 4000)])),
  );
  return {
    headSha: pull.headSha,
    prUrl: pull.url,
    reviewComments: kept.map((c, i) => ({
      path: c.path.slice(0, 1024),
      line: Math.max(0, c.line),
      body: bodies[`reviewComment${i + 1}`] ?? '',
    })),
  };
}

/** The implement prompt's follow-up block: what was asked, fenced as untrusted text. */
export function followUpBlock(run: Run): string | undefined {
  const followUp = run.followUp;
  if (run.kind !== 'follow-up' || !followUp) return undefined;
  const comments = followUp.reviewComments
    .map((c) => `${c.path}${c.line ? `:${c.line}` : ' (outdated line)'}\n${c.body}`)
    .join('\n\n');
  return [
    `This is a follow-up on pull request #${followUp.prNumber}: your workspace is its current head, already holding the earlier change. Make only what @${followUp.sender} asks below, on top of it; the contract still applies.`,
    followUp.instructions
      ? fence(`Follow-up instructions from @${followUp.sender}`, followUp.instructions)
      : undefined,
    comments ? fence('Review comments (file:line, then the comment)', comments) : undefined,
  ]
    .filter(Boolean)
    .join('\n\n');
}
