import { type CommitData, GitError, type GitIdentity, type TreeChange } from '../git';
import type { RepoRecord, UserRecord } from '../state';
import { ForgeError } from './errors';
import type { PullLifecycle } from './pull-lifecycle';
import type { Repos } from './repos';
import type { Users } from './users';

export const ZERO_SHA = '0'.repeat(40);

type PersonInput = Partial<{ name: string; email: string; date: string }>;

/** The git data API (blobs, trees, commits, refs) and whole-file pushes; every ref move reaches the PRs. */
export class GitData {
  constructor(
    private readonly repos: Repos,
    private readonly users: Users,
    private readonly pullLifecycle: PullLifecycle,
  ) {}

  async createBlob(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    content: string,
    encoding: string,
  ): Promise<string> {
    this.repos.requireRole(repo, actorIn, 'write');
    if (typeof content !== 'string')
      throw new ForgeError(422, 'Invalid request.', [{ field: 'content', code: 'missing_field' }]);
    if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'base64') {
      throw new ForgeError(422, `encoding must be utf-8 or base64, not ${encoding}`);
    }
    return this.repos.git(repo).writeBlob(Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'));
  }

  async createTree(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    baseTree: string | undefined,
    entries: TreeChange[],
  ): Promise<string> {
    this.repos.requireRole(repo, actorIn, 'write');
    for (const entry of entries) {
      if (entry.sha !== undefined && entry.sha !== null && entry.content !== undefined) {
        throw new ForgeError(422, 'Must supply either tree.sha or tree.content, not both');
      }
      if (entry.sha === undefined && entry.content === undefined) {
        throw new ForgeError(
          422,
          'Must supply either tree.sha or tree.content. Request will be rejected if both are present.',
        );
      }
    }
    try {
      return await this.repos.git(repo).buildTree(baseTree, entries);
    } catch (error) {
      throw gitToForge(error);
    }
  }

  async createCommit(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    input: {
      message: string;
      tree: string;
      parents: string[];
      author?: PersonInput;
      committer?: PersonInput;
    },
  ): Promise<string> {
    const actor = this.repos.requireRole(repo, actorIn, 'write');
    if (typeof input.message !== 'string' || typeof input.tree !== 'string') {
      throw new ForgeError(422, 'Invalid request.', [{ code: 'missing_field', field: 'message/tree' }]);
    }
    const fallback = this.users.identityOf(actor);
    const person = (given?: PersonInput): GitIdentity => {
      if (!given?.name || !given.email) return fallback;
      const date = given.date ? new Date(given.date) : new Date();
      return {
        name: given.name,
        email: given.email,
        timestamp: Math.floor(date.getTime() / 1000),
        timezoneOffset: 0,
      };
    };
    const author = person(input.author);
    const committer = input.committer ? person(input.committer) : input.author ? author : fallback;
    try {
      return await this.repos.git(repo).writeCommit({
        message: input.message,
        tree: input.tree,
        parents: input.parents ?? [],
        author,
        committer,
      });
    } catch (error) {
      throw gitToForge(error);
    }
  }

  async readCommit(repo: RepoRecord, sha: string): Promise<CommitData> {
    const commit = await this.repos.git(repo).readCommit(sha);
    if (!commit) throw new ForgeError(404, 'Not Found');
    return commit;
  }

  /** POST /git/refs. */
  async createRef(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    ref: string,
    sha: string,
  ): Promise<void> {
    const actor = this.repos.requireRole(repo, actorIn, 'write');
    if (
      typeof ref !== 'string' ||
      !ref.startsWith('refs/') ||
      ref.split('/').length < 3 ||
      !isValidRefName(ref)
    ) {
      throw new ForgeError(422, 'Reference name is not valid');
    }
    await this.repos.withLock(repo, async () => {
      const git = this.repos.git(repo);
      if (await git.resolveRef(ref)) throw new ForgeError(422, 'Reference already exists');
      if (typeof sha !== 'string' || (await git.objectType(sha)) !== 'commit')
        throw new ForgeError(422, 'Object does not exist');
      await git.writeRef(ref, sha);
    });
    await this.pullLifecycle.onRefMoved(actor, repo, ref, undefined, sha);
  }

  /** PATCH /git/refs/{ref}: fast-forward only unless `force`. */
  async updateRef(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    ref: string,
    sha: string,
    force: boolean,
  ): Promise<void> {
    const actor = this.repos.requireRole(repo, actorIn, 'write');
    const before = await this.repos.withLock(repo, async () => {
      const git = this.repos.git(repo);
      const current = await git.resolveRef(ref);
      if (!current) throw new ForgeError(422, 'Reference does not exist');
      if (typeof sha !== 'string' || (await git.objectType(sha)) !== 'commit')
        throw new ForgeError(422, 'Object does not exist');
      if (!force && !(await git.isAncestor(current, sha)))
        throw new ForgeError(422, 'Update is not a fast forward');
      await git.writeRef(ref, sha);
      return current;
    });
    await this.pullLifecycle.onRefMoved(actor, repo, ref, before, sha);
  }

  async deleteRef(actorIn: UserRecord | undefined, repo: RepoRecord, ref: string): Promise<void> {
    const actor = this.repos.requireRole(repo, actorIn, 'write');
    if (ref === `refs/heads/${repo.defaultBranch}`)
      throw new ForgeError(422, 'Cannot delete the default branch');
    const before = await this.repos.withLock(repo, async () => {
      const git = this.repos.git(repo);
      const current = await git.resolveRef(ref);
      if (!current) throw new ForgeError(422, 'Reference does not exist');
      await git.deleteRef(ref);
      return current;
    });
    await this.pullLifecycle.onRefMoved(actor, repo, ref, before, undefined);
  }

  /**
   * One ref update of a `git push`, its pack already stored: git receive-pack's rules, with the
   * forge's policy (branches only; the default branch is neither deleted nor rewound). Returns
   * undefined when applied, else the reason receive-pack reports (`ng <ref> <reason>`).
   */
  async applyPushedRef(
    actor: UserRecord,
    repo: RepoRecord,
    update: { ref: string; before: string; after: string },
  ): Promise<string | undefined> {
    const { ref } = update;
    if (!ref.startsWith('refs/heads/') || ref.split('/').length < 3) return 'the forge accepts branches only';
    if (!isValidRefName(ref)) return 'funny refname';
    const isDefault = ref === `refs/heads/${repo.defaultBranch}`;
    const deleting = update.after === ZERO_SHA;
    if (deleting && isDefault) return 'deletion of the current branch prohibited';
    const outcome = await this.repos.withLock(repo, async () => {
      const git = this.repos.git(repo);
      const current = await git.resolveRef(ref);
      if ((current ?? ZERO_SHA) !== update.before) return { refused: 'failed to update ref' };
      if (deleting) {
        if (current) await git.deleteRef(ref);
        return { current };
      }
      if ((await git.objectType(update.after)) !== 'commit') return { refused: 'missing necessary objects' };
      if (isDefault && current && !(await git.isAncestor(current, update.after)))
        return { refused: 'non-fast-forward' };
      await git.writeRef(ref, update.after);
      return { current };
    });
    if ('refused' in outcome) return outcome.refused;
    await this.pullLifecycle.onRefMoved(
      actor,
      repo,
      ref,
      outcome.current,
      deleting ? undefined : update.after,
    );
    return undefined;
  }

  /** A commit of whole files on top of a branch (created from the default branch when absent). */
  async pushFiles(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    branch: string,
    files: Record<string, string | null>,
    message: string,
  ): Promise<string> {
    const actor = this.repos.requireRole(repo, actorIn, 'write');
    const git = this.repos.git(repo);
    const ref = `refs/heads/${branch}`;
    const { before, sha } = await this.repos.withLock(repo, async () => {
      const current =
        (await git.resolveRef(ref)) ?? (await git.resolveRef(`refs/heads/${repo.defaultBranch}`));
      const baseTree = current ? (await git.readCommit(current))?.tree : undefined;
      const tree = await git.buildTree(
        baseTree,
        Object.entries(files).map(([filePath, content]) =>
          content === null
            ? { path: filePath, mode: '100644' as const, type: 'blob' as const, sha: null }
            : { path: filePath, mode: '100644' as const, type: 'blob' as const, content },
        ),
      );
      const identity = this.users.identityOf(actor);
      const commit = await git.writeCommit({
        message,
        tree,
        parents: current ? [current] : [],
        author: identity,
        committer: identity,
      });
      const previous = await git.resolveRef(ref);
      await git.writeRef(ref, commit);
      return { before: previous, sha: commit };
    });
    await this.pullLifecycle.onRefMoved(actor, repo, ref, before, sha);
    return sha;
  }
}

/** git check-ref-format, the parts that matter here. */
export function isValidRefName(ref: string): boolean {
  if ([...ref].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) return false;
  return !/(\.\.|[\s~^:?*[\\]|@\{|\/\/|\/$|\.lock(\/|$)|\/\.)/.test(ref) && !ref.endsWith('.');
}

function gitToForge(error: unknown): unknown {
  if (error instanceof GitError) return new ForgeError(error.kind === 'not_found' ? 404 : 422, error.message);
  return error;
}
