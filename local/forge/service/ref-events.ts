import type { CommitData, GitRepo } from '../git';
import { headCommitJson, repoWebUrl, type Urls } from '../payloads';
import type { RepoRecord, UserRecord } from '../state';
import type { Events } from './events';
import type { Repos } from './repos';

/**
 * The webhooks GitHub raises for every ref change, whether by `git push`, the REST git data API
 * or a merge: `push` (with up to 20 of the new commits and their files), and `create` or `delete`
 * when a branch or tag appears or goes.
 */

const ZERO = '0'.repeat(40);
/** GitHub's push payload lists at most 20 commits. */
const MAX_COMMITS = 20;

export class RefEvents {
  constructor(
    private readonly urls: Urls,
    private readonly repos: Repos,
    private readonly events: Events,
  ) {}

  async moved(
    actor: UserRecord,
    repo: RepoRecord,
    ref: string,
    before: string | undefined,
    after: string | undefined,
  ): Promise<void> {
    const refType = ref.startsWith('refs/tags/')
      ? 'tag'
      : ref.startsWith('refs/heads/')
        ? 'branch'
        : undefined;
    if (!refType || before === after) return;
    const git = this.repos.git(repo);
    const web = repoWebUrl(this.urls, repo);
    // A new branch's commits are those no other branch has.
    const bases = before
      ? [before]
      : (await git.listRefs()).filter((other) => other.ref !== ref).map((other) => other.sha);
    const newest = after ? await git.commitsBetween(bases, [after], MAX_COMMITS) : [];
    const commitJson = async (commit: CommitData) => ({
      ...headCommitJson(commit),
      distinct: true,
      url: `${web}/commit/${commit.sha}`,
      ...(await filesChanged(git, commit.tree, commit.parents[0])),
    });
    const commits = [];
    for (const commit of newest.reverse()) commits.push(await commitJson(commit));
    const head = after ? await git.readCommit(after) : undefined;
    const headCommit =
      commits.find((commit) => commit.id === after) ?? (head ? await commitJson(head) : null);
    this.events.emit('push', repo, actor, {
      ref,
      before: before ?? ZERO,
      after: after ?? ZERO,
      created: before === undefined,
      deleted: after === undefined,
      forced: before !== undefined && after !== undefined && !(await git.isAncestor(before, after)),
      base_ref: null,
      compare:
        before && after
          ? `${web}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`
          : `${web}/commit/${(after ?? before ?? '').slice(0, 12)}`,
      commits,
      head_commit: headCommit,
      pusher: { name: actor.login, email: actor.email },
    });
    const name = ref.replace(/^refs\/(heads|tags)\//, '');
    if (before === undefined)
      this.events.emit('create', repo, actor, {
        ref: name,
        ref_type: refType,
        master_branch: repo.defaultBranch,
        description: repo.description || null,
        pusher_type: 'user',
      });
    if (after === undefined)
      this.events.emit('delete', repo, actor, { ref: name, ref_type: refType, pusher_type: 'user' });
  }
}

/** What a commit added, removed and modified against its first parent, paths sorted. */
async function filesChanged(
  git: GitRepo,
  tree: string,
  parent: string | undefined,
): Promise<{ added: string[]; removed: string[]; modified: string[] }> {
  const blobs = async (treeish: string | undefined) => {
    if (!treeish) return new Map<string, string>();
    const root = await git.treeOf(treeish);
    if (!root) return new Map<string, string>();
    const { entries } = await git.readTreeRecursive(root);
    return new Map(entries.filter((entry) => entry.type !== 'tree').map((entry) => [entry.path, entry.sha]));
  };
  const now = await blobs(tree);
  const then = await blobs(parent);
  const added: string[] = [];
  const modified: string[] = [];
  for (const [file, sha] of now) {
    const old = then.get(file);
    if (old === undefined) added.push(file);
    else if (old !== sha) modified.push(file);
  }
  const removed = [...then.keys()].filter((file) => !now.has(file));
  return { added, removed: removed.sort(), modified };
}
