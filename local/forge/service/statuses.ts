import { type Urls, repoApiUrl, statusJson } from '../payloads';
import { type ForgeState, nowIso, type RepoRecord, type StatusRecord, type UserRecord } from '../state';
import { ForgeError } from './errors';
import type { Repos } from './repos';
import type { Users } from './users';

const STATES = new Set<StatusRecord['state']>(['error', 'failure', 'pending', 'success']);

/**
 * Commit statuses, the way CI that is not a GitHub App (Jenkins, Buildkite, CircleCI) reports on
 * GitHub: `POST /repos/{owner}/{repo}/statuses/{sha}` by a writer, read back through the combined
 * status of a ref. Unlike GitHub, no `status` webhook is sent (the factory does not listen to it).
 */
export class Statuses {
  constructor(
    private readonly state: ForgeState,
    private readonly urls: Urls,
    private readonly repos: Repos,
    private readonly users: Users,
  ) {}

  async create(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    sha: string,
    input: { state?: unknown; target_url?: unknown; description?: unknown; context?: unknown },
  ) {
    const actor = this.repos.requireRole(repo, actorIn, 'write');
    if (!STATES.has(input.state as StatusRecord['state']))
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'Status', field: 'state', code: 'invalid' },
      ]);
    if (
      !(await this.repos
        .git(repo)
        .readCommit(sha)
        .catch(() => undefined))
    )
      throw new ForgeError(422, `No commit found for SHA: ${sha}`);
    const now = nowIso();
    const status: StatusRecord = {
      id: this.state.newId(),
      sha,
      state: input.state as StatusRecord['state'],
      context: typeof input.context === 'string' && input.context ? input.context : 'default',
      description: typeof input.description === 'string' ? input.description.slice(0, 140) : null,
      targetUrl: typeof input.target_url === 'string' ? input.target_url : null,
      creator: actor.login,
      createdAt: now,
      updatedAt: now,
    };
    repo.statuses ??= [];
    repo.statuses.push(status);
    void this.state.persist();
    return statusJson(this.urls, repo, status, actor);
  }

  /** GitHub's combined status: the latest status per context, folded into one state. */
  combined(repo: RepoRecord, sha: string) {
    const latest = new Map<string, StatusRecord>();
    for (const status of repo.statuses ?? []) if (status.sha === sha) latest.set(status.context, status);
    const statuses = [...latest.values()];
    const state = statuses.some((s) => s.state === 'error' || s.state === 'failure')
      ? 'failure'
      : statuses.length === 0 || statuses.some((s) => s.state === 'pending')
        ? 'pending'
        : 'success';
    return {
      state,
      statuses: statuses.map((status) => {
        const { creator: _creator, ...simple } = statusJson(
          this.urls,
          repo,
          status,
          this.users.orGhost(status.creator),
        );
        return simple;
      }),
      sha,
      total_count: statuses.length,
      repository: this.repos.json(repo),
      commit_url: `${repoApiUrl(this.urls, repo)}/commits/${sha}`,
      url: `${repoApiUrl(this.urls, repo)}/commits/${sha}/status`,
    };
  }
}
