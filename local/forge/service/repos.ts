import path from 'node:path';
import { GitRepo, isSha } from '../git';
import { repoJson, roleRank, type Urls } from '../payloads';
import { type ForgeState, nowIso, type RepoRecord, type Role, type UserRecord } from '../state';
import { ForgeError } from './errors';
import { requireUser, type Users } from './users';

export interface CreateRepoInput {
  owner: string;
  name: string;
  defaultBranch?: string;
  description?: string;
  files?: Readonly<Record<string, string>>;
  roles?: Record<string, Role>;
  ciCommand?: string | null;
  labels?: Array<{ name: string; color?: string; description?: string }>;
  /** Author of the initial commit. */
  author?: string;
}

/** Repositories, their git object stores and who may do what in them (collaborator roles). */
export class Repos {
  private readonly gits = new Map<string, GitRepo>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly state: ForgeState,
    private readonly users: Users,
    private readonly urls: Urls,
    private readonly reposDir: string,
  ) {}

  get(owner: string, name: string): RepoRecord {
    const repo = this.state.data.repos[`${owner}/${name}`.toLowerCase()];
    if (!repo) throw new ForgeError(404, 'Not Found');
    return repo;
  }

  has(owner: string, name: string): boolean {
    return this.state.data.repos[`${owner}/${name}`.toLowerCase()] !== undefined;
  }

  git(repo: RepoRecord): GitRepo {
    const key = `${repo.owner}/${repo.name}`.toLowerCase();
    let git = this.gits.get(key);
    if (!git) {
      git = new GitRepo(path.join(this.reposDir, repo.owner, `${repo.name}.git`));
      this.gits.set(key, git);
    }
    return git;
  }

  json(repo: RepoRecord, viewer?: UserRecord) {
    return repoJson(
      this.urls,
      repo,
      this.users.orGhost(repo.owner),
      viewer ? this.roleOf(repo, viewer.login) : undefined,
    );
  }

  roleOf(repo: RepoRecord, login: string | undefined): Role | 'none' {
    if (!login) return 'none';
    if (login === repo.owner) return 'admin';
    return repo.roles[login] ?? 'none';
  }

  /** Writes need a signed-in user with at least `minimum`; reads of these public repos need nothing. */
  requireRole(repo: RepoRecord, actorIn: UserRecord | undefined, minimum: Role): UserRecord {
    const actor = requireUser(actorIn);
    if (roleRank(this.roleOf(repo, actor.login)) < roleRank(minimum)) {
      throw new ForgeError(
        403,
        minimum === 'admin'
          ? 'Must have admin rights to Repository.'
          : 'Resource not accessible by integration',
      );
    }
    return actor;
  }

  setRole(repo: RepoRecord, login: string, role: Role | 'none'): void {
    if (role === 'none') delete repo.roles[login];
    else repo.roles[login] = role;
    void this.state.persist();
  }

  setCiCommand(repo: RepoRecord, command: string | null): void {
    repo.ciCommand = command;
    void this.state.persist();
  }

  async create(input: CreateRepoInput): Promise<RepoRecord> {
    const key = `${input.owner}/${input.name}`.toLowerCase();
    if (this.state.data.repos[key])
      throw new ForgeError(422, 'Repository creation failed.', [
        { message: 'name already exists on this account' },
      ]);
    const ownerUser = this.users.ensure(input.owner, 'Organization');
    const defaultBranch = input.defaultBranch ?? 'main';
    const repo: RepoRecord = {
      id: this.state.newId(),
      owner: ownerUser.login,
      name: input.name,
      description: input.description ?? '',
      defaultBranch,
      createdAt: nowIso(),
      roles: { ...(input.roles ?? {}) },
      ciCommand: input.ciCommand ?? null,
      labels: [],
      nextNumber: 1,
      issues: [],
      comments: [],
      pulls: [],
      reviews: [],
      checkSuites: [],
      checkRuns: [],
    };
    for (const label of input.labels ?? []) {
      repo.labels.push({
        id: this.state.newId(),
        name: label.name,
        color: label.color ?? 'ededed',
        description: label.description ?? '',
      });
    }
    const git = this.git(repo);
    await git.init(defaultBranch);
    if (input.files && Object.keys(input.files).length > 0) {
      const tree = await git.buildTree(
        undefined,
        Object.entries(input.files).map(([filePath, content]) => ({
          path: filePath,
          mode: '100644',
          type: 'blob',
          content,
        })),
      );
      const author = this.users.identityOf(this.users.ensure(input.author ?? ownerUser.login));
      const sha = await git.writeCommit({
        message: 'Initial commit',
        tree,
        parents: [],
        author,
        committer: author,
      });
      await git.writeRef(`refs/heads/${defaultBranch}`, sha);
    }
    await git.setHead(defaultBranch);
    this.state.data.repos[key] = repo;
    await this.state.persist();
    return repo;
  }

  /** Serialises the changes of one repository (a ref compare-and-swap must not interleave). */
  async withLock<T>(repo: RepoRecord, task: () => Promise<T>): Promise<T> {
    const key = `${repo.owner}/${repo.name}`.toLowerCase();
    const previous = this.locks.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
    const settled = current.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    try {
      return await current;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }

  /** Resolves a branch, tag, `heads/x`, `refs/heads/x` or SHA to a commit SHA. */
  async resolveCommitish(repo: RepoRecord, ref: string | undefined): Promise<string | undefined> {
    const git = this.git(repo);
    const name = ref && ref.length > 0 ? ref : repo.defaultBranch;
    if (isSha(name)) return (await git.objectType(name)) ? name : undefined;
    const candidates = name.startsWith('refs/')
      ? [name]
      : [`refs/heads/${name}`, `refs/tags/${name}`, `refs/${name}`];
    for (const candidate of candidates) {
      const sha = await git.resolveRef(candidate);
      if (sha) return sha;
    }
    return undefined;
  }
}
