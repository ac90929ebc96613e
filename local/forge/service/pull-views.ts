import { pullJson, type RenderContext } from '../payloads';
import type { ForgeState, PullRecord, RepoRecord } from '../state';
import { ForgeError } from './errors';
import { issueOf } from './issues';
import type { Repos } from './repos';
import type { Users } from './users';

export function pullOf(repo: RepoRecord, number: number): PullRecord {
  const pull = repo.pulls.find((candidate) => candidate.number === number);
  if (!pull) throw new ForgeError(404, 'Not Found');
  return pull;
}

/** Reading pull requests: lookups, lists and the PR resource with its counts and mergeability. */
export class PullViews {
  /** Mergeability by repo, base and head: a trial merge is costly and its answer never changes. */
  private readonly mergeableCache = new Map<string, boolean>();

  constructor(
    private readonly state: ForgeState,
    private readonly repos: Repos,
    private readonly users: Users,
    private readonly render: RenderContext,
  ) {}

  get(repo: RepoRecord, number: number): PullRecord {
    return pullOf(repo, number);
  }

  byNodeId(nodeId: string): { repo: RepoRecord; pull: PullRecord } | undefined {
    for (const repo of Object.values(this.state.data.repos)) {
      for (const pull of repo.pulls) {
        if (Buffer.from(`PullRequest:${pull.id}`).toString('base64') === nodeId) return { repo, pull };
      }
    }
    return undefined;
  }

  list(repo: RepoRecord, filter: { state?: string; head?: string; base?: string }): PullRecord[] {
    const state = filter.state ?? 'open';
    let headBranch: string | undefined;
    if (filter.head) {
      const [owner, branch] = filter.head.includes(':')
        ? filter.head.split(':', 2)
        : [repo.owner, filter.head];
      // A head filter naming another owner matches nothing here (the forge has no forks).
      headBranch = owner?.toLowerCase() === repo.owner.toLowerCase() ? branch : '\0';
    }
    return repo.pulls
      .filter((pull) => {
        const issue = issueOf(repo, pull.number);
        if (state !== 'all' && issue.state !== state) return false;
        if (headBranch !== undefined && pull.headRef !== headBranch) return false;
        if (filter.base && pull.baseRef !== filter.base) return false;
        return true;
      })
      .sort((a, b) => b.number - a.number);
  }

  /** The PR resource without reading git (lists and webhook payloads): no counts, known mergeability. */
  summaryJson(repo: RepoRecord, number: number) {
    const pull = pullOf(repo, number);
    const issue = issueOf(repo, number);
    const mergeable = this.mergeableCache.get(`${repo.id}:${pull.baseSha}:${pull.headSha}`);
    return pullJson(this.render, repo, this.users.orGhost(repo.owner), issue, pull, {
      baseTip: pull.baseSha,
      commits: 0,
      changedFiles: 0,
      mergeable: mergeable ?? null,
    });
  }

  eventFields(repo: RepoRecord, number: number): { pull_request: unknown } {
    return { pull_request: this.summaryJson(repo, number) };
  }

  /** The full PR resource: current base tip, commit count, changed files and mergeability. */
  async json(repo: RepoRecord, number: number) {
    const pull = pullOf(repo, number);
    const issue = issueOf(repo, number);
    const git = this.repos.git(repo);
    const baseTip =
      issue.state === 'open'
        ? ((await this.repos.resolveCommitish(repo, pull.baseRef)) ?? pull.baseSha)
        : pull.baseSha;
    const mergeable = issue.state === 'open' ? await this.isMergeable(repo, baseTip, pull.headSha) : null;
    const base = pull.merged ? pull.baseSha : baseTip;
    const commits = (await git.commitsBetween([base], [pull.headSha])).length;
    const changedFiles = await this.countChangedFiles(repo, base, pull.headSha);
    return pullJson(this.render, repo, this.users.orGhost(repo.owner), issue, pull, {
      baseTip,
      commits,
      changedFiles,
      mergeable,
    });
  }

  private async countChangedFiles(repo: RepoRecord, base: string, head: string): Promise<number> {
    const git = this.repos.git(repo);
    const baseTree = await git.treeOf(base);
    const headTree = await git.treeOf(head);
    if (!baseTree || !headTree) return 0;
    const files = async (tree: string) =>
      new Map(
        (await git.readTreeRecursive(tree)).entries
          .filter((entry) => entry.type !== 'tree')
          .map((entry) => [entry.path, entry.sha]),
      );
    const [a, b] = await Promise.all([files(baseTree), files(headTree)]);
    let count = 0;
    for (const [file, sha] of b) if (a.get(file) !== sha) count += 1;
    for (const file of a.keys()) if (!b.has(file)) count += 1;
    return count;
  }

  private async isMergeable(repo: RepoRecord, base: string, head: string): Promise<boolean> {
    const key = `${repo.id}:${base}:${head}`;
    const cached = this.mergeableCache.get(key);
    if (cached !== undefined) return cached;
    const git = this.repos.git(repo);
    let mergeable: boolean;
    if (await git.isAncestor(head, base)) mergeable = false;
    else if (await git.isAncestor(base, head)) mergeable = true;
    else
      mergeable =
        (await git.mergeTrees(base, head, this.users.identityOf(this.users.orGhost(repo.owner)))) !==
        undefined;
    this.mergeableCache.set(key, mergeable);
    return mergeable;
  }
}
