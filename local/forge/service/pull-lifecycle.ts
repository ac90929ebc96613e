import { type ForgeState, nowIso, type RepoRecord, type UserRecord } from '../state';
import type { Checks } from './checks';
import { ForgeError } from './errors';
import type { Events } from './events';
import { issueOf } from './issues';
import { pullOf, type PullViews } from './pull-views';
import type { RefEvents } from './ref-events';
import type { Repos } from './repos';

/**
 * How an open pull request follows what happens around it: closed and reopened (from the pull or
 * its issue), synchronised with CI when its head branch moves, closed when that branch is deleted.
 */
export class PullLifecycle {
  constructor(
    private readonly state: ForgeState,
    private readonly repos: Repos,
    private readonly events: Events,
    private readonly views: PullViews,
    private readonly checks: Checks,
    private readonly refEvents: RefEvents,
  ) {}

  async close(actor: UserRecord, repo: RepoRecord, number: number): Promise<void> {
    const issue = issueOf(repo, number);
    if (issue.state === 'closed') return;
    const now = nowIso();
    issue.state = 'closed';
    issue.closedAt = now;
    issue.updatedAt = now;
    this.events.emit('pull_request', repo, actor, {
      action: 'closed',
      number,
      ...this.views.eventFields(repo, number),
    });
  }

  async reopen(actor: UserRecord, repo: RepoRecord, number: number): Promise<void> {
    const pull = pullOf(repo, number);
    const issue = issueOf(repo, number);
    if (pull.merged)
      throw new ForgeError(422, 'Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: 'state cannot be changed. The pull request is merged.',
        },
      ]);
    const headSha = await this.repos.git(repo).resolveRef(`refs/heads/${pull.headRef}`);
    if (!headSha)
      throw new ForgeError(422, 'Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: 'state cannot be changed. The head branch was deleted.',
        },
      ]);
    issue.state = 'open';
    issue.closedAt = null;
    issue.updatedAt = nowIso();
    const moved = headSha !== pull.headSha;
    pull.headSha = headSha;
    this.events.emit('pull_request', repo, actor, {
      action: 'reopened',
      number,
      ...this.views.eventFields(repo, number),
    });
    if (moved) this.checks.schedule(actor, repo, pull, null);
  }

  /**
   * Called after every ref change: GitHub's push webhooks, then a moved head branch synchronises
   * its PRs and a deleted one closes them.
   */
  async onRefMoved(
    actor: UserRecord,
    repo: RepoRecord,
    ref: string,
    before: string | undefined,
    after: string | undefined,
  ): Promise<void> {
    await this.refEvents.moved(actor, repo, ref, before, after);
    if (!ref.startsWith('refs/heads/')) return;
    const branch = ref.slice('refs/heads/'.length);
    for (const pull of repo.pulls) {
      const issue = issueOf(repo, pull.number);
      if (issue.state !== 'open' || pull.headRef !== branch) continue;
      if (!after) {
        await this.close(actor, repo, pull.number);
        continue;
      }
      if (pull.headSha === after) continue;
      pull.headSha = after;
      pull.baseSha = (await this.repos.resolveCommitish(repo, pull.baseRef)) ?? pull.baseSha;
      issue.updatedAt = nowIso();
      this.events.emit('pull_request', repo, actor, {
        action: 'synchronize',
        number: pull.number,
        before: before ?? null,
        after,
        ...this.views.eventFields(repo, pull.number),
      });
      this.checks.schedule(actor, repo, pull, before ?? null);
    }
    await this.state.persist();
  }
}
