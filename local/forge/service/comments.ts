import { commentJson, issueJson, type RenderContext } from '../payloads';
import { type CommentRecord, type ForgeState, nowIso, type RepoRecord, type UserRecord } from '../state';
import { ForgeError } from './errors';
import type { Events } from './events';
import { issueOf } from './issues';
import type { Repos } from './repos';
import { requireUser } from './users';

/** Comments on issues and pull requests (GitHub's issue comments), with the issue_comment webhooks. */
export class Comments {
  constructor(
    private readonly state: ForgeState,
    private readonly repos: Repos,
    private readonly events: Events,
    private readonly render: RenderContext,
  ) {}

  get(repo: RepoRecord, id: number): CommentRecord {
    const comment = repo.comments.find((candidate) => candidate.id === id);
    if (!comment) throw new ForgeError(404, 'Not Found');
    return comment;
  }

  json(repo: RepoRecord, comment: CommentRecord) {
    return commentJson(this.render, repo, comment);
  }

  async create(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    body: string,
  ): Promise<CommentRecord> {
    const actor = requireUser(actorIn);
    const issue = issueOf(repo, number);
    requireBody(body);
    const now = nowIso();
    const comment: CommentRecord = {
      id: this.state.newId(),
      issueNumber: number,
      body,
      author: actor.login,
      createdAt: now,
      updatedAt: now,
    };
    repo.comments.push(comment);
    issue.updatedAt = now;
    this.events.emit('issue_comment', repo, actor, {
      action: 'created',
      issue: issueJson(this.render, repo, issue),
      comment: this.json(repo, comment),
    });
    await this.state.persist();
    return comment;
  }

  async update(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    id: number,
    body: string,
  ): Promise<CommentRecord> {
    const actor = requireUser(actorIn);
    const comment = this.get(repo, id);
    if (comment.author !== actor.login) this.repos.requireRole(repo, actor, 'write');
    requireBody(body);
    const previous = comment.body;
    comment.body = body;
    comment.updatedAt = nowIso();
    const issue = issueOf(repo, comment.issueNumber);
    this.events.emit('issue_comment', repo, actor, {
      action: 'edited',
      changes: { body: { from: previous } },
      issue: issueJson(this.render, repo, issue),
      comment: this.json(repo, comment),
    });
    await this.state.persist();
    return comment;
  }
}

function requireBody(body: unknown): void {
  if (typeof body !== 'string' || body.length === 0) {
    throw new ForgeError(422, 'Validation Failed', [
      { resource: 'IssueComment', code: 'missing_field', field: 'body' },
    ]);
  }
}
