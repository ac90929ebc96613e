import { nowIso, type RepoRecord, type UserRecord } from '../state';
import { ForgeError } from './errors';
import type { Events } from './events';
import { issueOf, type Issues } from './issues';
import type { PullLifecycle } from './pull-lifecycle';
import { pullOf, type PullViews } from './pull-views';
import type { Repos } from './repos';
import type { Users } from './users';

const CLOSING_KEYWORDS = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b/gi;

/** Merging a pull request into its base branch with real git commits. */
export class Merges {
  constructor(
    private readonly repos: Repos,
    private readonly users: Users,
    private readonly events: Events,
    private readonly issues: Issues,
    private readonly pullViews: PullViews,
    private readonly pullLifecycle: PullLifecycle,
  ) {}

  /**
   * PUT /pulls/{n}/merge. `merge` writes a real two-parent merge commit on the base branch,
   * `squash` a one-parent commit with the merged tree. The optional `sha` must be the head.
   * Merging into the default branch closes the issues the PR body names with a closing keyword.
   */
  async merge(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    input: { sha?: string; merge_method?: string; commit_title?: string; commit_message?: string },
  ): Promise<{ sha: string; merged: true; message: string }> {
    const actor = this.repos.requireRole(repo, actorIn, 'write');
    const pull = pullOf(repo, number);
    const issue = issueOf(repo, number);
    const method = input.merge_method ?? 'merge';
    if (method !== 'merge' && method !== 'squash') {
      throw new ForgeError(422, `Merge method ${method} is not supported by the local forge (merge, squash)`);
    }
    const git = this.repos.git(repo);
    const baseRef = `refs/heads/${pull.baseRef}`;
    const result = await this.repos.withLock(repo, async () => {
      if (issue.state !== 'open' || pull.merged) throw new ForgeError(405, 'Pull Request is not mergeable');
      if (pull.draft) throw new ForgeError(405, 'Pull Request is still a draft');
      if (input.sha !== undefined && input.sha !== pull.headSha) {
        throw new ForgeError(409, 'Head branch was modified. Review and try the merge again.');
      }
      const baseTip = await git.resolveRef(baseRef);
      if (!baseTip) throw new ForgeError(405, 'Pull Request is not mergeable');
      if (await git.isAncestor(pull.headSha, baseTip))
        throw new ForgeError(405, 'Pull Request is not mergeable');
      const identity = this.users.identityOf(actor);
      const tree = (await git.isAncestor(baseTip, pull.headSha))
        ? await git.treeOf(pull.headSha)
        : await git.mergeTrees(baseTip, pull.headSha, identity);
      if (!tree) throw new ForgeError(405, 'Pull Request is not mergeable');
      const title =
        input.commit_title ??
        (method === 'squash'
          ? `${issue.title} (#${number})`
          : `Merge pull request #${number} from ${repo.owner}/${pull.headRef}`);
      const body =
        input.commit_message ??
        (method === 'squash'
          ? (await git.commitsBetween([baseTip], [pull.headSha]))
              .map((commit) => `* ${commit.message.split('\n')[0]}`)
              .join('\n')
          : issue.title);
      const message = body.length > 0 ? `${title}\n\n${body}` : title;
      const committer = {
        name: 'Forge',
        email: 'noreply@forge.local',
        timestamp: identity.timestamp,
        timezoneOffset: 0,
      };
      const sha = await git.writeCommit({
        message,
        tree,
        parents: method === 'merge' ? [baseTip, pull.headSha] : [baseTip],
        author: identity,
        committer,
      });
      await git.writeRef(baseRef, sha);
      const now = nowIso();
      pull.merged = true;
      pull.mergedAt = now;
      pull.mergedBy = actor.login;
      pull.mergeCommitSha = sha;
      pull.baseSha = baseTip;
      issue.state = 'closed';
      issue.closedAt = now;
      issue.updatedAt = now;
      return { sha, baseTip };
    });
    this.events.emit('pull_request', repo, actor, {
      action: 'closed',
      number,
      ...this.pullViews.eventFields(repo, number),
    });
    if (pull.baseRef === repo.defaultBranch) {
      for (const match of issue.body.matchAll(CLOSING_KEYWORDS)) {
        const linked = repo.issues.find((candidate) => candidate.number === Number(match[1]));
        if (linked && !linked.isPull && linked.state === 'open')
          this.issues.close(actor, repo, linked, 'completed');
      }
    }
    await this.pullLifecycle.onRefMoved(actor, repo, baseRef, result.baseTip, result.sha);
    return { sha: result.sha, merged: true, message: 'Pull Request successfully merged' };
  }
}
