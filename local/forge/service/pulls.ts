import {
  type ForgeState,
  type IssueRecord,
  nowIso,
  type PullRecord,
  type RepoRecord,
  type UserRecord,
} from '../state';
import type { Checks } from './checks';
import { ForgeError } from './errors';
import type { Events } from './events';
import { issueOf, type Issues } from './issues';
import type { PullLifecycle } from './pull-lifecycle';
import { pullOf, type PullViews } from './pull-views';
import type { Repos } from './repos';
import { requireUser } from './users';

/** Opening and editing pull requests (title, body, base, draft, state). */
export class Pulls {
  constructor(
    private readonly state: ForgeState,
    private readonly repos: Repos,
    private readonly events: Events,
    private readonly issues: Issues,
    private readonly views: PullViews,
    private readonly lifecycle: PullLifecycle,
    private readonly checks: Checks,
  ) {}

  async create(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    input: {
      title?: string;
      body?: string | null;
      head?: string;
      base?: string;
      draft?: boolean;
      maintainer_can_modify?: boolean;
    },
  ): Promise<PullRecord> {
    const actor = this.repos.requireRole(repo, actorIn, 'read');
    if (!input.title)
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'PullRequest', code: 'missing_field', field: 'title' },
      ]);
    if (!input.head || !input.base)
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'PullRequest', code: 'missing_field', field: input.head ? 'base' : 'head' },
      ]);
    const headBranch = input.head.includes(':') ? (input.head.split(':')[1] ?? '') : input.head;
    const baseBranch = input.base;
    const git = this.repos.git(repo);
    const headSha = await git.resolveRef(`refs/heads/${headBranch}`);
    const baseSha = await git.resolveRef(`refs/heads/${baseBranch}`);
    if (!headSha)
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'PullRequest', field: 'head', code: 'invalid' },
      ]);
    if (!baseSha)
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'PullRequest', field: 'base', code: 'invalid' },
      ]);
    if (await git.isAncestor(headSha, baseSha)) {
      throw new ForgeError(422, 'Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `No commits between ${baseBranch} and ${headBranch}`,
        },
      ]);
    }
    if (this.views.list(repo, { state: 'open', head: headBranch, base: baseBranch }).length > 0) {
      throw new ForgeError(422, 'Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `A pull request already exists for ${repo.owner}:${headBranch}.`,
        },
      ]);
    }
    const now = nowIso();
    const number = repo.nextNumber;
    repo.nextNumber += 1;
    const issue: IssueRecord = {
      id: this.state.newId(),
      number,
      title: input.title,
      body: input.body ?? '',
      author: actor.login,
      state: 'open',
      stateReason: null,
      labels: [],
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      isPull: true,
    };
    const pull: PullRecord = {
      id: this.state.newId(),
      number,
      headRef: headBranch,
      headSha,
      baseRef: baseBranch,
      baseSha,
      draft: input.draft === true,
      merged: false,
      mergedAt: null,
      mergedBy: null,
      mergeCommitSha: null,
      maintainerCanModify: input.maintainer_can_modify !== false,
    };
    repo.issues.push(issue);
    repo.pulls.push(pull);
    this.events.emit('pull_request', repo, actor, {
      action: 'opened',
      number,
      ...this.views.eventFields(repo, number),
    });
    this.checks.schedule(actor, repo, pull, null);
    await this.state.persist();
    return pull;
  }

  async update(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    patch: { title?: string; body?: string | null; state?: string; base?: string; draft?: boolean },
  ): Promise<PullRecord> {
    const actor = requireUser(actorIn);
    const pull = pullOf(repo, number);
    const issue = issueOf(repo, number);
    if (issue.author !== actor.login) this.repos.requireRole(repo, actor, 'write');
    if (patch.base !== undefined && patch.base !== pull.baseRef) {
      const baseSha = await this.repos.git(repo).resolveRef(`refs/heads/${patch.base}`);
      if (!baseSha)
        throw new ForgeError(422, 'Validation Failed', [
          { resource: 'PullRequest', field: 'base', code: 'invalid' },
        ]);
      pull.baseRef = patch.base;
      pull.baseSha = baseSha;
    }
    if (patch.title !== undefined || patch.body !== undefined) {
      await this.issues.update(actor, repo, number, {
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.body !== undefined ? { body: patch.body } : {}),
      });
    }
    // Real GitHub changes draft state only through GraphQL; the forge also accepts it here.
    if (patch.draft !== undefined && patch.draft !== pull.draft && issue.state === 'open') {
      pull.draft = patch.draft;
      issue.updatedAt = nowIso();
      this.events.emit('pull_request', repo, actor, {
        action: patch.draft ? 'converted_to_draft' : 'ready_for_review',
        number,
        ...this.views.eventFields(repo, number),
      });
    }
    if (patch.state === 'closed' && issue.state === 'open') await this.lifecycle.close(actor, repo, number);
    else if (patch.state === 'open' && issue.state === 'closed')
      await this.lifecycle.reopen(actor, repo, number);
    await this.state.persist();
    return pull;
  }

  /** GraphQL's markPullRequestReadyForReview. */
  markReadyForReview(actorIn: UserRecord | undefined, repo: RepoRecord, number: number): Promise<PullRecord> {
    return this.update(actorIn, repo, number, { draft: false });
  }

  /** GraphQL's convertPullRequestToDraft. */
  convertToDraft(actorIn: UserRecord | undefined, repo: RepoRecord, number: number): Promise<PullRecord> {
    return this.update(actorIn, repo, number, { draft: true });
  }
}
