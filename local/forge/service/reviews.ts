import { NOT_IN_SIMPLE_PULL, type RenderContext, reviewJson } from '../payloads';
import { type ForgeState, nowIso, type RepoRecord, type ReviewRecord, type UserRecord } from '../state';
import { ForgeError } from './errors';
import type { Events } from './events';
import { issueOf } from './issues';
import { pullOf, type PullViews } from './pull-views';
import type { Repos } from './repos';

const REVIEW_STATES: Record<string, ReviewRecord['state']> = {
  APPROVE: 'APPROVED',
  REQUEST_CHANGES: 'CHANGES_REQUESTED',
  COMMENT: 'COMMENTED',
};

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

  async create(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    input: { body?: string; event?: string; commit_id?: string },
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
