import { issueJson, type RenderContext, roleRank } from '../payloads';
import { type ForgeState, type IssueRecord, nowIso, type RepoRecord, type UserRecord } from '../state';
import { ForgeError } from './errors';
import type { Events } from './events';
import type { Labels } from './labels';
import type { PullLifecycle } from './pull-lifecycle';
import type { PullViews } from './pull-views';
import type { Repos } from './repos';
import { requireUser } from './users';

/** Issue numbers are shared with pull requests: a pull request is also an issue (`isPull`). */
export function issueOf(repo: RepoRecord, number: number): IssueRecord {
  const issue = repo.issues.find((candidate) => candidate.number === number);
  if (!issue) throw new ForgeError(404, 'Not Found');
  return issue;
}

/** Issues: opening, editing, closing and reopening, with the issues webhooks. */
export class Issues {
  constructor(
    private readonly state: ForgeState,
    private readonly repos: Repos,
    private readonly events: Events,
    private readonly render: RenderContext,
    private readonly labels: Labels,
    private readonly pullViews: PullViews,
    private readonly pullLifecycle: PullLifecycle,
  ) {}

  get(repo: RepoRecord, number: number): IssueRecord {
    return issueOf(repo, number);
  }

  json(repo: RepoRecord, issue: IssueRecord) {
    return issueJson(this.render, repo, issue);
  }

  async create(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    input: { title: string; body?: string | null; labels?: string[] },
  ): Promise<IssueRecord> {
    const actor = requireUser(actorIn);
    if (!input.title || typeof input.title !== 'string') {
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'Issue', code: 'missing_field', field: 'title' },
      ]);
    }
    const now = nowIso();
    const issue: IssueRecord = {
      id: this.state.newId(),
      number: repo.nextNumber,
      title: input.title,
      body: input.body ?? '',
      author: actor.login,
      state: 'open',
      stateReason: null,
      labels: [],
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      isPull: false,
    };
    repo.nextNumber += 1;
    repo.issues.push(issue);
    this.events.emit('issues', repo, actor, { action: 'opened', issue: this.json(repo, issue) });
    // Only people who can triage may label while opening (GitHub drops the labels silently otherwise).
    if (
      input.labels &&
      input.labels.length > 0 &&
      roleRank(this.repos.roleOf(repo, actor.login)) >= roleRank('triage')
    ) {
      await this.labels.add(actor, repo, issue.number, input.labels);
    }
    await this.state.persist();
    return issue;
  }

  /** PATCH /issues/{n}, also for a pull request's issue (its state changes go to the pull). */
  async update(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    patch: {
      title?: string;
      body?: string | null;
      state?: string;
      state_reason?: string | null;
      labels?: string[];
    },
  ): Promise<IssueRecord> {
    const actor = requireUser(actorIn);
    const issue = issueOf(repo, number);
    const isAuthor = issue.author === actor.login;
    if (!isAuthor) this.repos.requireRole(repo, actor, 'triage');
    const changes: Record<string, { from: string }> = {};
    if (patch.title !== undefined && patch.title !== issue.title) {
      changes.title = { from: issue.title };
      issue.title = patch.title;
    }
    if (patch.body !== undefined && (patch.body ?? '') !== issue.body) {
      changes.body = { from: issue.body };
      issue.body = patch.body ?? '';
    }
    issue.updatedAt = nowIso();
    if (Object.keys(changes).length > 0) {
      this.events.emit(issue.isPull ? 'pull_request' : 'issues', repo, actor, {
        action: 'edited',
        changes,
        ...(issue.isPull
          ? { number: issue.number, ...this.pullViews.eventFields(repo, issue.number) }
          : { issue: this.json(repo, issue) }),
      });
    }
    if (patch.labels !== undefined) {
      this.repos.requireRole(repo, actor, 'triage');
      for (const name of [...issue.labels])
        if (!patch.labels.includes(name)) await this.labels.remove(actor, repo, number, name);
      await this.labels.add(actor, repo, number, patch.labels);
    }
    if (patch.state === 'closed' && issue.state === 'open') {
      if (issue.isPull) await this.pullLifecycle.close(actor, repo, number);
      else this.close(actor, repo, issue, patch.state_reason === 'not_planned' ? 'not_planned' : 'completed');
    } else if (patch.state === 'open' && issue.state === 'closed') {
      if (issue.isPull) await this.pullLifecycle.reopen(actor, repo, number);
      else {
        issue.state = 'open';
        issue.stateReason = 'reopened';
        issue.closedAt = null;
        this.events.emit('issues', repo, actor, { action: 'reopened', issue: this.json(repo, issue) });
      }
    }
    await this.state.persist();
    return issue;
  }

  close(actor: UserRecord, repo: RepoRecord, issue: IssueRecord, reason: 'completed' | 'not_planned'): void {
    const now = nowIso();
    issue.state = 'closed';
    issue.stateReason = reason;
    issue.closedAt = now;
    issue.updatedAt = now;
    this.events.emit('issues', repo, actor, { action: 'closed', issue: this.json(repo, issue) });
  }
}
