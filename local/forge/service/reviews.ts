import { NOT_IN_SIMPLE_PULL, type RenderContext, reviewCommentJson, reviewJson } from '../payloads';
import {
  type ForgeState,
  nowIso,
  type RepoRecord,
  type ReviewCommentRecord,
  type ReviewRecord,
  type UserRecord,
} from '../state';
import { ForgeError } from './errors';
import type { Events } from './events';
import { issueOf } from './issues';
import { pullDiff } from './pull-diff';
import { pullOf, type PullViews } from './pull-views';
import type { Repos } from './repos';

const REVIEW_STATES: Record<string, ReviewRecord['state']> = {
  APPROVE: 'APPROVED',
  REQUEST_CHANGES: 'CHANGES_REQUESTED',
  COMMENT: 'COMMENTED',
};

/** An inline comment as `POST /pulls/{n}/reviews` takes it in `comments[]`. */
export interface ReviewCommentInput {
  path?: unknown;
  line?: unknown;
  side?: unknown;
  body?: unknown;
  position?: unknown;
  start_line?: unknown;
}

/** GitHub's 422 for a comment off the diff (the whole review is refused, nothing is posted). */
const OFF_THE_DIFF = 'Pull request review thread line must be part of the diff';

/** Pull request reviews: approvals, change requests and review comments. */
export class Reviews {
  constructor(
    private readonly state: ForgeState,
    private readonly repos: Repos,
    private readonly events: Events,
    private readonly render: RenderContext,
    private readonly pullViews: PullViews,
  ) {}

  json(repo: RepoRecord, review: ReviewRecord) {
    return reviewJson(this.render, repo, review);
  }

  commentJson(repo: RepoRecord, comment: ReviewCommentRecord) {
    return reviewCommentJson(this.render, repo, comment);
  }

  /**
   * The review's inline comments, each checked against the pull request's diff as GitHub does:
   * `line` (with `side`, RIGHT by default) must be a line of one of the file's hunks. Only the
   * `line` form is supported (not the deprecated `position`, nor multi-line `start_line`).
   */
  private async placeComments(
    repo: RepoRecord,
    number: number,
    inputs: ReviewCommentInput[],
  ): Promise<Array<Pick<ReviewCommentRecord, 'path' | 'line' | 'side' | 'body' | 'diffHunk'>>> {
    if (inputs.length === 0) return [];
    const invalid = (field: string) =>
      new ForgeError(422, 'Invalid request.', [`"${field}" is not a permitted key or has an invalid value.`]);
    const { files } = await pullDiff(this.repos.git(repo), pullOf(repo, number));
    return inputs.map((input) => {
      if (typeof input.path !== 'string' || !input.path) throw invalid('path');
      if (typeof input.body !== 'string' || !input.body) throw invalid('body');
      if (input.position !== undefined || input.start_line !== undefined)
        throw new ForgeError(422, 'the local forge takes review comments by line and side only');
      if (typeof input.line !== 'number' || !Number.isInteger(input.line)) throw invalid('line');
      const side = input.side ?? 'RIGHT';
      if (side !== 'RIGHT' && side !== 'LEFT') throw invalid('side');
      const hunk = files.find((f) => f.filename === input.path)?.lines[side].get(input.line);
      if (!hunk) throw new ForgeError(422, 'Unprocessable Entity', [OFF_THE_DIFF]);
      return { path: input.path, line: input.line, side, body: input.body, diffHunk: hunk };
    });
  }

  async create(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    input: { body?: string; event?: string; commit_id?: string; comments?: ReviewCommentInput[] },
  ): Promise<ReviewRecord> {
    const actor = this.repos.requireRole(repo, actorIn, 'read');
    const pull = pullOf(repo, number);
    const issue = issueOf(repo, number);
    const state = input.event ? REVIEW_STATES[input.event] : 'PENDING';
    if (!state)
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'PullRequestReview', field: 'event', code: 'invalid' },
      ]);
    // GitHub refuses to let the author approve or request changes on their own pull request.
    if (issue.author === actor.login && (state === 'APPROVED' || state === 'CHANGES_REQUESTED')) {
      throw new ForgeError(422, 'Unprocessable Entity', [
        `Review Can not ${state === 'APPROVED' ? 'approve' : 'request changes on'} your own pull request`,
      ]);
    }
    if ((state === 'CHANGES_REQUESTED' || state === 'COMMENTED') && !input.body) {
      throw new ForgeError(422, 'Unprocessable Entity', [`Review body is required for ${input.event}`]);
    }
    const placed = await this.placeComments(repo, number, input.comments ?? []);
    const review: ReviewRecord = {
      id: this.state.newId(),
      pullNumber: number,
      author: actor.login,
      body: input.body ?? '',
      state,
      commitId: input.commit_id ?? pull.headSha,
      submittedAt: state === 'PENDING' ? null : nowIso(),
    };
    repo.reviews.push(review);
    repo.reviewComments ??= [];
    for (const comment of placed) {
      repo.reviewComments.push({
        ...comment,
        id: this.state.newId(),
        reviewId: review.id,
        pullNumber: number,
        author: actor.login,
        commitId: review.commitId,
        createdAt: nowIso(),
      });
    }
    if (state !== 'PENDING') {
      this.events.emit('pull_request_review', repo, actor, {
        action: 'submitted',
        // The REST API says APPROVED; the webhook payload says approved (GitHub's own difference).
        review: { ...this.json(repo, review), state: review.state.toLowerCase() },
        // A review's pull_request is GitHub's "simple pull request": no merge state or counts.
        pull_request: Object.fromEntries(
          Object.entries(
            this.pullViews.eventFields(repo, number).pull_request as Record<string, unknown>,
          ).filter(([key]) => !NOT_IN_SIMPLE_PULL.includes(key)),
        ),
      });
    }
    await this.state.persist();
    return review;
  }
}
