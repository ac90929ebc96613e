import { issueJson, labelJson, type RenderContext, type Urls } from '../payloads';
import {
  type ForgeState,
  type IssueRecord,
  type LabelRecord,
  nowIso,
  type RepoRecord,
  type UserRecord,
} from '../state';
import { ForgeError } from './errors';
import type { Events } from './events';
import { issueOf } from './issues';
import type { PullViews } from './pull-views';
import type { Repos } from './repos';

/** A repository's label by name (any case); labelling with an unknown name creates it, as on GitHub. */
export function labelOf(state: ForgeState, repo: RepoRecord, name: string): LabelRecord {
  const existing = repo.labels.find((label) => label.name.toLowerCase() === name.toLowerCase());
  if (existing) return existing;
  const label: LabelRecord = { id: state.newId(), name, color: 'ededed', description: '' };
  repo.labels.push(label);
  return label;
}

/** Labels on issues and pull requests, with the labeled and unlabeled webhooks. */
export class Labels {
  constructor(
    private readonly state: ForgeState,
    private readonly urls: Urls,
    private readonly repos: Repos,
    private readonly events: Events,
    private readonly render: RenderContext,
    private readonly pullViews: PullViews,
  ) {}

  of(repo: RepoRecord, name: string): LabelRecord {
    return labelOf(this.state, repo, name);
  }

  json(repo: RepoRecord, label: LabelRecord) {
    return labelJson(this.urls, repo, label);
  }

  async add(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    names: string[],
  ): Promise<LabelRecord[]> {
    const actor = this.repos.requireRole(repo, actorIn, 'triage');
    const issue = issueOf(repo, number);
    for (const name of names) {
      if (typeof name !== 'string' || name.length === 0) continue;
      const label = this.of(repo, name);
      if (issue.labels.includes(label.name)) continue;
      issue.labels.push(label.name);
      issue.updatedAt = nowIso();
      this.emitLabelEvent('labeled', actor, repo, issue, this.json(repo, label));
    }
    await this.state.persist();
    return issue.labels.map((name) => this.of(repo, name));
  }

  async remove(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    name: string,
  ): Promise<LabelRecord[]> {
    const actor = this.repos.requireRole(repo, actorIn, 'triage');
    const issue = issueOf(repo, number);
    const index = issue.labels.findIndex((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (index < 0) throw new ForgeError(404, 'Label does not exist');
    const [removed] = issue.labels.splice(index, 1);
    issue.updatedAt = nowIso();
    this.emitLabelEvent('unlabeled', actor, repo, issue, this.json(repo, this.of(repo, removed as string)));
    await this.state.persist();
    return issue.labels.map((labelName) => this.of(repo, labelName));
  }

  private emitLabelEvent(
    action: 'labeled' | 'unlabeled',
    actor: UserRecord,
    repo: RepoRecord,
    issue: IssueRecord,
    label: unknown,
  ): void {
    if (issue.isPull) {
      this.events.emit('pull_request', repo, actor, {
        action,
        number: issue.number,
        ...this.pullViews.eventFields(repo, issue.number),
        label,
      });
    } else {
      this.events.emit('issues', repo, actor, { action, issue: issueJson(this.render, repo, issue), label });
    }
  }
}
