import path from 'node:path';
import { Limiter, runCheckJob } from './ci';
import { type CommitData, GitError, type GitIdentity, GitRepo, isSha, type TreeChange } from './git';
import {
  checkRunJson,
  checkSuiteJson,
  commentJson,
  installationJson,
  issueJson,
  labelJson,
  pullJson,
  pullRefJson,
  type RenderContext,
  repoJson,
  reviewJson,
  roleRank,
  type Urls,
  userJson,
  workflowJson,
  workflowRunJson,
} from './payloads';
import {
  type CheckRunRecord,
  type CheckSuiteRecord,
  type CommentRecord,
  type ForgeState,
  type IssueRecord,
  type LabelRecord,
  newToken,
  nowIso,
  type PullRecord,
  type RepoRecord,
  type ReviewRecord,
  type Role,
  type UserRecord,
  type UserType,
} from './state';
import type { WebhookSender } from './webhooks';

/**
 * The forge's behaviour, shared by the REST API and the test/stack actions: users and roles,
 * repositories over real git objects, issues, comments, labels, pull requests with real merges,
 * reviews, local CI and the webhooks each change raises.
 */

export class ForgeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[],
  ) {
    super(message);
    this.name = 'ForgeError';
  }
}

export interface ForgeServiceOptions {
  state: ForgeState;
  reposDir: string;
  urls: Urls;
  webhooks: WebhookSender;
  ciTimeoutMs: number;
  ciConcurrency: number;
  /** Bytes of CI output kept for a check run (the tail). */
  ciMaxOutputBytes?: number;
}

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

type MergeMethod = 'merge' | 'squash' | 'rebase';

const CHECK_RUN_NAME = 'test';
/** GitHub caps check run output text at 65535 characters. */
const MAX_OUTPUT_TEXT = 60_000;
const CLOSING_KEYWORDS = /\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b/gi;

export class ForgeService {
  readonly urls: Urls;
  private readonly state: ForgeState;
  private readonly gits = new Map<string, GitRepo>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly ciLimiter: Limiter;
  private readonly mergeableCache = new Map<string, boolean>();
  private ciJobs = 0;
  private closed = false;
  private readonly stopping = new AbortController();
  readonly render: RenderContext;

  constructor(private readonly options: ForgeServiceOptions) {
    this.state = options.state;
    this.urls = options.urls;
    this.ciLimiter = new Limiter(options.ciConcurrency);
    this.render = {
      urls: this.urls,
      user: (login) => this.userOrGhost(login),
      label: (repo, name) => this.labelOf(repo, name),
    };
  }

  get busy(): boolean {
    return this.ciJobs > 0 || !this.options.webhooks.idle;
  }

  /** Stops raising webhooks and kills running CI commands; resolves when no CI run is left (bounded). */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    const deadline = Date.now() + timeoutMs;
    while (this.ciJobs > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  persist(): Promise<void> {
    return this.state.persist();
  }

  // ---------------------------------------------------------------------------------------------
  // users
  // ---------------------------------------------------------------------------------------------
  ensureUser(login: string, type: UserType = 'User', email?: string): UserRecord {
    const existing = this.state.data.users[login];
    if (existing) return existing;
    const user: UserRecord = {
      id: this.state.newId(),
      login,
      type,
      name: login,
      email: email ?? `${login.replace(/\[bot\]$/, '')}@users.noreply.forge.local`,
      createdAt: nowIso(),
      ...(type === 'Organization' ? {} : { token: newToken(type === 'Bot' ? 'ghs' : 'ghp') }),
    };
    this.state.data.users[login] = user;
    void this.state.persist();
    return user;
  }

  user(login: string): UserRecord | undefined {
    return this.state.data.users[login];
  }

  userByToken(token: string): UserRecord | undefined {
    return Object.values(this.state.data.users).find(
      (user) => user.token !== undefined && user.token === token,
    );
  }

  tokens(): Record<string, string> {
    const tokens: Record<string, string> = {};
    for (const user of Object.values(this.state.data.users)) if (user.token) tokens[user.login] = user.token;
    return tokens;
  }

  private userOrGhost(login: string): UserRecord {
    return (
      this.state.data.users[login] ?? {
        id: 10137,
        login: 'ghost',
        type: 'User',
        name: 'Deleted user',
        email: '',
        createdAt: nowIso(),
      }
    );
  }

  // ---------------------------------------------------------------------------------------------
  // repositories and access
  // ---------------------------------------------------------------------------------------------
  repo(owner: string, name: string): RepoRecord {
    const repo = this.state.data.repos[`${owner}/${name}`.toLowerCase()];
    if (!repo) throw new ForgeError(404, 'Not Found');
    return repo;
  }

  hasRepo(owner: string, name: string): boolean {
    return this.state.data.repos[`${owner}/${name}`.toLowerCase()] !== undefined;
  }

  git(repo: RepoRecord): GitRepo {
    const key = `${repo.owner}/${repo.name}`.toLowerCase();
    let git = this.gits.get(key);
    if (!git) {
      git = new GitRepo(path.join(this.options.reposDir, repo.owner, `${repo.name}.git`));
      this.gits.set(key, git);
    }
    return git;
  }

  roleOf(repo: RepoRecord, login: string | undefined): Role | 'none' {
    if (!login) return 'none';
    if (login === repo.owner) return 'admin';
    return repo.roles[login] ?? 'none';
  }

  /** Writes need a signed-in user with at least `minimum`; reads of these public repos need nothing. */
  requireRole(repo: RepoRecord, actor: UserRecord | undefined, minimum: Role): UserRecord {
    if (!actor) throw new ForgeError(401, 'Requires authentication');
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

  requireUser(actor: UserRecord | undefined): UserRecord {
    if (!actor) throw new ForgeError(401, 'Requires authentication');
    return actor;
  }

  setCiCommand(repo: RepoRecord, command: string | null): void {
    repo.ciCommand = command;
    void this.state.persist();
  }

  setRole(repo: RepoRecord, login: string, role: Role | 'none'): void {
    if (role === 'none') delete repo.roles[login];
    else repo.roles[login] = role;
    void this.state.persist();
  }

  async createRepo(input: CreateRepoInput): Promise<RepoRecord> {
    const key = `${input.owner}/${input.name}`.toLowerCase();
    if (this.state.data.repos[key])
      throw new ForgeError(422, 'Repository creation failed.', [
        { message: 'name already exists on this account' },
      ]);
    const ownerUser = this.ensureUser(input.owner, 'Organization');
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
      const author = this.identityOf(this.ensureUser(input.author ?? ownerUser.login));
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

  repoJson(repo: RepoRecord, viewer?: UserRecord) {
    return repoJson(
      this.urls,
      repo,
      this.userOrGhost(repo.owner),
      viewer ? this.roleOf(repo, viewer.login) : undefined,
    );
  }

  identityOf(user: UserRecord, date = new Date()): GitIdentity {
    return {
      name: user.type === 'Bot' ? user.login : user.name,
      email: user.type === 'Bot' ? `${user.id}+${user.login}@users.noreply.forge.local` : user.email,
      timestamp: Math.floor(date.getTime() / 1000),
      timezoneOffset: 0,
    };
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

  // ---------------------------------------------------------------------------------------------
  // webhooks
  // ---------------------------------------------------------------------------------------------
  private emit(event: string, repo: RepoRecord, actor: UserRecord, fields: Record<string, unknown>): void {
    if (this.closed) return;
    const payload = {
      ...fields,
      repository: this.repoJson(repo),
      sender: userJson(this.urls, actor),
      installation: installationJson(),
    };
    void this.options.webhooks.send(event, payload);
  }

  // ---------------------------------------------------------------------------------------------
  // labels and issues
  // ---------------------------------------------------------------------------------------------
  labelOf(repo: RepoRecord, name: string): LabelRecord {
    const existing = repo.labels.find((label) => label.name.toLowerCase() === name.toLowerCase());
    if (existing) return existing;
    const label: LabelRecord = { id: this.state.newId(), name, color: 'ededed', description: '' };
    repo.labels.push(label);
    return label;
  }

  issue(repo: RepoRecord, number: number): IssueRecord {
    const issue = repo.issues.find((candidate) => candidate.number === number);
    if (!issue) throw new ForgeError(404, 'Not Found');
    return issue;
  }

  issueJson(repo: RepoRecord, issue: IssueRecord) {
    return issueJson(this.render, repo, issue);
  }

  private issueEventFields(repo: RepoRecord, issue: IssueRecord): Record<string, unknown> {
    if (issue.isPull) {
      const pull = this.pull(repo, issue.number);
      return {
        issue: this.issueJson(repo, issue),
        pull_request: pullJson(this.render, repo, this.userOrGhost(repo.owner), issue, pull),
      };
    }
    return { issue: this.issueJson(repo, issue) };
  }

  async createIssue(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    input: { title: string; body?: string | null; labels?: string[] },
  ): Promise<IssueRecord> {
    const actor = this.requireUser(actorIn);
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
    this.emit('issues', repo, actor, { action: 'opened', issue: this.issueJson(repo, issue) });
    // Only people who can triage may label while opening (GitHub drops the labels silently otherwise).
    if (
      input.labels &&
      input.labels.length > 0 &&
      roleRank(this.roleOf(repo, actor.login)) >= roleRank('triage')
    ) {
      await this.addLabels(actor, repo, issue.number, input.labels);
    }
    await this.state.persist();
    return issue;
  }

  async updateIssue(
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
    const actor = this.requireUser(actorIn);
    const issue = this.issue(repo, number);
    const isAuthor = issue.author === actor.login;
    if (!isAuthor) this.requireRole(repo, actor, 'triage');
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
      this.emit(issue.isPull ? 'pull_request' : 'issues', repo, actor, {
        action: 'edited',
        changes,
        ...(issue.isPull
          ? { number: issue.number, ...this.pullEventFields(repo, issue.number) }
          : this.issueEventFields(repo, issue)),
      });
    }
    if (patch.labels !== undefined) {
      this.requireRole(repo, actor, 'triage');
      for (const name of [...issue.labels])
        if (!patch.labels.includes(name)) await this.removeLabel(actor, repo, number, name);
      await this.addLabels(actor, repo, number, patch.labels);
    }
    if (patch.state === 'closed' && issue.state === 'open') {
      if (issue.isPull) await this.closePull(actor, repo, number);
      else
        this.closeIssue(
          actor,
          repo,
          issue,
          patch.state_reason === 'not_planned' ? 'not_planned' : 'completed',
        );
    } else if (patch.state === 'open' && issue.state === 'closed') {
      if (issue.isPull) await this.reopenPull(actor, repo, number);
      else {
        issue.state = 'open';
        issue.stateReason = 'reopened';
        issue.closedAt = null;
        this.emit('issues', repo, actor, { action: 'reopened', issue: this.issueJson(repo, issue) });
      }
    }
    await this.state.persist();
    return issue;
  }

  private closeIssue(
    actor: UserRecord,
    repo: RepoRecord,
    issue: IssueRecord,
    reason: 'completed' | 'not_planned',
  ): void {
    const now = nowIso();
    issue.state = 'closed';
    issue.stateReason = reason;
    issue.closedAt = now;
    issue.updatedAt = now;
    this.emit('issues', repo, actor, { action: 'closed', issue: this.issueJson(repo, issue) });
  }

  async addLabels(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    names: string[],
  ): Promise<LabelRecord[]> {
    const actor = this.requireRole(repo, actorIn, 'triage');
    const issue = this.issue(repo, number);
    for (const name of names) {
      if (typeof name !== 'string' || name.length === 0) continue;
      const label = this.labelOf(repo, name);
      if (issue.labels.includes(label.name)) continue;
      issue.labels.push(label.name);
      issue.updatedAt = nowIso();
      const labelJsonValue = this.labelJson(repo, label);
      if (issue.isPull) {
        this.emit('pull_request', repo, actor, {
          action: 'labeled',
          number,
          ...this.pullEventFields(repo, number),
          label: labelJsonValue,
        });
      } else {
        this.emit('issues', repo, actor, {
          action: 'labeled',
          issue: this.issueJson(repo, issue),
          label: labelJsonValue,
        });
      }
    }
    await this.state.persist();
    return issue.labels.map((name) => this.labelOf(repo, name));
  }

  async removeLabel(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    name: string,
  ): Promise<LabelRecord[]> {
    const actor = this.requireRole(repo, actorIn, 'triage');
    const issue = this.issue(repo, number);
    const index = issue.labels.findIndex((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (index < 0) throw new ForgeError(404, 'Label does not exist');
    const [removed] = issue.labels.splice(index, 1);
    issue.updatedAt = nowIso();
    const label = this.labelJson(repo, this.labelOf(repo, removed as string));
    if (issue.isPull) {
      this.emit('pull_request', repo, actor, {
        action: 'unlabeled',
        number,
        ...this.pullEventFields(repo, number),
        label,
      });
    } else {
      this.emit('issues', repo, actor, { action: 'unlabeled', issue: this.issueJson(repo, issue), label });
    }
    await this.state.persist();
    return issue.labels.map((labelName) => this.labelOf(repo, labelName));
  }

  labelJson(repo: RepoRecord, label: LabelRecord) {
    return labelJson(this.urls, repo, label);
  }

  // ---------------------------------------------------------------------------------------------
  // comments
  // ---------------------------------------------------------------------------------------------
  comment(repo: RepoRecord, id: number): CommentRecord {
    const comment = repo.comments.find((candidate) => candidate.id === id);
    if (!comment) throw new ForgeError(404, 'Not Found');
    return comment;
  }

  commentJson(repo: RepoRecord, comment: CommentRecord) {
    return commentJson(this.render, repo, comment);
  }

  async createComment(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    body: string,
  ): Promise<CommentRecord> {
    const actor = this.requireUser(actorIn);
    const issue = this.issue(repo, number);
    if (typeof body !== 'string' || body.length === 0) {
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'IssueComment', code: 'missing_field', field: 'body' },
      ]);
    }
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
    this.emit('issue_comment', repo, actor, {
      action: 'created',
      issue: this.issueJson(repo, issue),
      comment: this.commentJson(repo, comment),
    });
    await this.state.persist();
    return comment;
  }

  async updateComment(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    id: number,
    body: string,
  ): Promise<CommentRecord> {
    const actor = this.requireUser(actorIn);
    const comment = this.comment(repo, id);
    if (comment.author !== actor.login) this.requireRole(repo, actor, 'write');
    if (typeof body !== 'string' || body.length === 0) {
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'IssueComment', code: 'missing_field', field: 'body' },
      ]);
    }
    const previous = comment.body;
    comment.body = body;
    comment.updatedAt = nowIso();
    const issue = this.issue(repo, comment.issueNumber);
    this.emit('issue_comment', repo, actor, {
      action: 'edited',
      changes: { body: { from: previous } },
      issue: this.issueJson(repo, issue),
      comment: this.commentJson(repo, comment),
    });
    await this.state.persist();
    return comment;
  }

  // ---------------------------------------------------------------------------------------------
  // git data
  // ---------------------------------------------------------------------------------------------
  async createBlob(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    content: string,
    encoding: string,
  ): Promise<string> {
    this.requireRole(repo, actorIn, 'write');
    if (typeof content !== 'string')
      throw new ForgeError(422, 'Invalid request.', [{ field: 'content', code: 'missing_field' }]);
    if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'base64') {
      throw new ForgeError(422, `encoding must be utf-8 or base64, not ${encoding}`);
    }
    return this.git(repo).writeBlob(Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'));
  }

  async createTree(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    baseTree: string | undefined,
    entries: TreeChange[],
  ): Promise<string> {
    this.requireRole(repo, actorIn, 'write');
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
      return await this.git(repo).buildTree(baseTree, entries);
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
      author?: Partial<{ name: string; email: string; date: string }>;
      committer?: Partial<{ name: string; email: string; date: string }>;
    },
  ): Promise<string> {
    const actor = this.requireRole(repo, actorIn, 'write');
    if (typeof input.message !== 'string' || typeof input.tree !== 'string') {
      throw new ForgeError(422, 'Invalid request.', [{ code: 'missing_field', field: 'message/tree' }]);
    }
    const fallback = this.identityOf(actor);
    const person = (given?: Partial<{ name: string; email: string; date: string }>): GitIdentity => {
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
      return await this.git(repo).writeCommit({
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
    const commit = await this.git(repo).readCommit(sha);
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
    const actor = this.requireRole(repo, actorIn, 'write');
    if (
      typeof ref !== 'string' ||
      !ref.startsWith('refs/') ||
      ref.split('/').length < 3 ||
      !isValidRefName(ref)
    ) {
      throw new ForgeError(422, 'Reference name is not valid');
    }
    await this.withLock(repo, async () => {
      const git = this.git(repo);
      if (await git.resolveRef(ref)) throw new ForgeError(422, 'Reference already exists');
      if (typeof sha !== 'string' || (await git.objectType(sha)) !== 'commit')
        throw new ForgeError(422, 'Object does not exist');
      await git.writeRef(ref, sha);
    });
    await this.onRefMoved(actor, repo, ref, undefined, sha);
  }

  /** PATCH /git/refs/{ref}: fast-forward only unless `force`. */
  async updateRef(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    ref: string,
    sha: string,
    force: boolean,
  ): Promise<void> {
    const actor = this.requireRole(repo, actorIn, 'write');
    const before = await this.withLock(repo, async () => {
      const git = this.git(repo);
      const current = await git.resolveRef(ref);
      if (!current) throw new ForgeError(422, 'Reference does not exist');
      if (typeof sha !== 'string' || (await git.objectType(sha)) !== 'commit')
        throw new ForgeError(422, 'Object does not exist');
      if (!force && !(await git.isAncestor(current, sha)))
        throw new ForgeError(422, 'Update is not a fast forward');
      await git.writeRef(ref, sha);
      return current;
    });
    await this.onRefMoved(actor, repo, ref, before, sha);
  }

  async deleteRef(actorIn: UserRecord | undefined, repo: RepoRecord, ref: string): Promise<void> {
    const actor = this.requireRole(repo, actorIn, 'write');
    if (ref === `refs/heads/${repo.defaultBranch}`)
      throw new ForgeError(422, 'Cannot delete the default branch');
    const before = await this.withLock(repo, async () => {
      const git = this.git(repo);
      const current = await git.resolveRef(ref);
      if (!current) throw new ForgeError(422, 'Reference does not exist');
      await git.deleteRef(ref);
      return current;
    });
    await this.onRefMoved(actor, repo, ref, before, undefined);
  }

  /** A commit of whole files on top of a branch (created from the default branch when absent). */
  async pushFiles(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    branch: string,
    files: Record<string, string | null>,
    message: string,
  ): Promise<string> {
    const actor = this.requireRole(repo, actorIn, 'write');
    const git = this.git(repo);
    const ref = `refs/heads/${branch}`;
    const { before, sha } = await this.withLock(repo, async () => {
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
      const identity = this.identityOf(actor);
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
    await this.onRefMoved(actor, repo, ref, before, sha);
    return sha;
  }

  /** Keeps PR heads in step with their branches: synchronize (and CI) on a move, close on deletion. */
  private async onRefMoved(
    actor: UserRecord,
    repo: RepoRecord,
    ref: string,
    before: string | undefined,
    after: string | undefined,
  ): Promise<void> {
    if (!ref.startsWith('refs/heads/')) return;
    const branch = ref.slice('refs/heads/'.length);
    for (const pull of repo.pulls) {
      const issue = this.issue(repo, pull.number);
      if (issue.state !== 'open' || pull.headRef !== branch) continue;
      if (!after) {
        await this.closePull(actor, repo, pull.number);
        continue;
      }
      if (pull.headSha === after) continue;
      pull.headSha = after;
      pull.baseSha = (await this.resolveCommitish(repo, pull.baseRef)) ?? pull.baseSha;
      issue.updatedAt = nowIso();
      this.emit('pull_request', repo, actor, {
        action: 'synchronize',
        number: pull.number,
        before: before ?? null,
        after,
        ...this.pullEventFields(repo, pull.number),
      });
      this.scheduleChecks(actor, repo, pull, before ?? null);
    }
    await this.state.persist();
  }

  // ---------------------------------------------------------------------------------------------
  // pull requests
  // ---------------------------------------------------------------------------------------------
  pull(repo: RepoRecord, number: number): PullRecord {
    const pull = repo.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw new ForgeError(404, 'Not Found');
    return pull;
  }

  pullByNodeId(nodeId: string): { repo: RepoRecord; pull: PullRecord } | undefined {
    for (const repo of Object.values(this.state.data.repos)) {
      for (const pull of repo.pulls) {
        if (Buffer.from(`PullRequest:${pull.id}`).toString('base64') === nodeId) return { repo, pull };
      }
    }
    return undefined;
  }

  private pullEventFields(repo: RepoRecord, number: number): { pull_request: unknown } {
    return { pull_request: this.pullJsonSync(repo, number) };
  }

  pullJsonSync(repo: RepoRecord, number: number) {
    const pull = this.pull(repo, number);
    const issue = this.issue(repo, number);
    const key = `${repo.id}:${pull.baseSha}:${pull.headSha}`;
    const mergeable = this.mergeableCache.get(key);
    return pullJson(this.render, repo, this.userOrGhost(repo.owner), issue, pull, {
      baseTip: pull.baseSha,
      commits: 0,
      changedFiles: 0,
      mergeable: mergeable ?? null,
    });
  }

  /** The full PR resource: current base tip, commit count, changed files and mergeability. */
  async pullJson(repo: RepoRecord, number: number) {
    const pull = this.pull(repo, number);
    const issue = this.issue(repo, number);
    const git = this.git(repo);
    const baseTip =
      issue.state === 'open'
        ? ((await this.resolveCommitish(repo, pull.baseRef)) ?? pull.baseSha)
        : pull.baseSha;
    let mergeable: boolean | null = null;
    let commits = 0;
    let changedFiles = 0;
    if (issue.state === 'open') {
      mergeable = await this.isMergeable(repo, baseTip, pull.headSha);
    }
    const between = await git.commitsBetween([pull.merged ? pull.baseSha : baseTip], [pull.headSha]);
    commits = between.length;
    changedFiles = await this.countChangedFiles(repo, pull.merged ? pull.baseSha : baseTip, pull.headSha);
    return pullJson(this.render, repo, this.userOrGhost(repo.owner), issue, pull, {
      baseTip,
      commits,
      changedFiles,
      mergeable,
    });
  }

  private async countChangedFiles(repo: RepoRecord, base: string, head: string): Promise<number> {
    const git = this.git(repo);
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
    const git = this.git(repo);
    let mergeable: boolean;
    if (await git.isAncestor(head, base)) mergeable = false;
    else if (await git.isAncestor(base, head)) mergeable = true;
    else
      mergeable =
        (await git.mergeTrees(base, head, this.identityOf(this.userOrGhost(repo.owner)))) !== undefined;
    this.mergeableCache.set(key, mergeable);
    return mergeable;
  }

  listPulls(repo: RepoRecord, filter: { state?: string; head?: string; base?: string }): PullRecord[] {
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
        const issue = this.issue(repo, pull.number);
        if (state !== 'all' && issue.state !== state) return false;
        if (headBranch !== undefined && pull.headRef !== headBranch) return false;
        if (filter.base && pull.baseRef !== filter.base) return false;
        return true;
      })
      .sort((a, b) => b.number - a.number);
  }

  async createPull(
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
    const actor = this.requireRole(repo, actorIn, 'read');
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
    const git = this.git(repo);
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
    if (this.listPulls(repo, { state: 'open', head: headBranch, base: baseBranch }).length > 0) {
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
    this.emit('pull_request', repo, actor, {
      action: 'opened',
      number,
      ...this.pullEventFields(repo, number),
    });
    this.scheduleChecks(actor, repo, pull, null);
    await this.state.persist();
    return pull;
  }

  async updatePull(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    patch: { title?: string; body?: string | null; state?: string; base?: string; draft?: boolean },
  ): Promise<PullRecord> {
    const actor = this.requireUser(actorIn);
    const pull = this.pull(repo, number);
    const issue = this.issue(repo, number);
    if (issue.author !== actor.login) this.requireRole(repo, actor, 'write');
    if (patch.base !== undefined && patch.base !== pull.baseRef) {
      const baseSha = await this.git(repo).resolveRef(`refs/heads/${patch.base}`);
      if (!baseSha)
        throw new ForgeError(422, 'Validation Failed', [
          { resource: 'PullRequest', field: 'base', code: 'invalid' },
        ]);
      pull.baseRef = patch.base;
      pull.baseSha = baseSha;
    }
    if (patch.title !== undefined || patch.body !== undefined) {
      await this.updateIssue(actor, repo, number, {
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.body !== undefined ? { body: patch.body } : {}),
      });
    }
    // Real GitHub changes draft state only through GraphQL; the forge also accepts it here.
    if (patch.draft !== undefined && patch.draft !== pull.draft && issue.state === 'open') {
      pull.draft = patch.draft;
      issue.updatedAt = nowIso();
      this.emit('pull_request', repo, actor, {
        action: patch.draft ? 'converted_to_draft' : 'ready_for_review',
        number,
        ...this.pullEventFields(repo, number),
      });
    }
    if (patch.state === 'closed' && issue.state === 'open') await this.closePull(actor, repo, number);
    else if (patch.state === 'open' && issue.state === 'closed') await this.reopenPull(actor, repo, number);
    await this.state.persist();
    return pull;
  }

  async markReadyForReview(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
  ): Promise<PullRecord> {
    return this.updatePull(actorIn, repo, number, { draft: false });
  }

  private async closePull(actor: UserRecord, repo: RepoRecord, number: number): Promise<void> {
    const issue = this.issue(repo, number);
    if (issue.state === 'closed') return;
    const now = nowIso();
    issue.state = 'closed';
    issue.closedAt = now;
    issue.updatedAt = now;
    this.emit('pull_request', repo, actor, {
      action: 'closed',
      number,
      ...this.pullEventFields(repo, number),
    });
  }

  private async reopenPull(actor: UserRecord, repo: RepoRecord, number: number): Promise<void> {
    const pull = this.pull(repo, number);
    const issue = this.issue(repo, number);
    if (pull.merged)
      throw new ForgeError(422, 'Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: 'state cannot be changed. The pull request is merged.',
        },
      ]);
    const headSha = await this.git(repo).resolveRef(`refs/heads/${pull.headRef}`);
    if (!headSha)
      throw new ForgeError(422, 'Validation Failed', [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: 'state cannot be changed. The head branch was deleted.',
        },
      ]);
    issue.state = 'open';
    issue.closedAt = null;
    issue.updatedAt = nowIso();
    const moved = headSha !== pull.headSha;
    pull.headSha = headSha;
    this.emit('pull_request', repo, actor, {
      action: 'reopened',
      number,
      ...this.pullEventFields(repo, number),
    });
    if (moved) this.scheduleChecks(actor, repo, pull, null);
  }

  /**
   * PUT /pulls/{n}/merge. `merge` writes a real two-parent merge commit on the base branch,
   * `squash` a one-parent commit with the merged tree. The optional `sha` must be the head.
   */
  async mergePull(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    input: { sha?: string; merge_method?: string; commit_title?: string; commit_message?: string },
  ): Promise<{ sha: string; merged: true; message: string }> {
    const actor = this.requireRole(repo, actorIn, 'write');
    const pull = this.pull(repo, number);
    const issue = this.issue(repo, number);
    const method = (input.merge_method ?? 'merge') as MergeMethod;
    if (method !== 'merge' && method !== 'squash') {
      throw new ForgeError(422, `Merge method ${method} is not supported by the local forge (merge, squash)`);
    }
    const git = this.git(repo);
    const baseRef = `refs/heads/${pull.baseRef}`;
    const result = await this.withLock(repo, async () => {
      if (issue.state !== 'open' || pull.merged) throw new ForgeError(405, 'Pull Request is not mergeable');
      if (pull.draft) throw new ForgeError(405, 'Pull Request is still a draft');
      if (input.sha !== undefined && input.sha !== pull.headSha) {
        throw new ForgeError(409, 'Head branch was modified. Review and try the merge again.');
      }
      const baseTip = await git.resolveRef(baseRef);
      if (!baseTip) throw new ForgeError(405, 'Pull Request is not mergeable');
      if (await git.isAncestor(pull.headSha, baseTip))
        throw new ForgeError(405, 'Pull Request is not mergeable');
      const identity = this.identityOf(actor);
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
    this.emit('pull_request', repo, actor, {
      action: 'closed',
      number,
      ...this.pullEventFields(repo, number),
    });
    if (pull.baseRef === repo.defaultBranch) {
      for (const match of issue.body.matchAll(CLOSING_KEYWORDS)) {
        const linked = repo.issues.find((candidate) => candidate.number === Number(match[1]));
        if (linked && !linked.isPull && linked.state === 'open')
          this.closeIssue(actor, repo, linked, 'completed');
      }
    }
    await this.onRefMoved(actor, repo, baseRef, result.baseTip, result.sha);
    return { sha: result.sha, merged: true, message: 'Pull Request successfully merged' };
  }

  async createReview(
    actorIn: UserRecord | undefined,
    repo: RepoRecord,
    number: number,
    input: { body?: string; event?: string; commit_id?: string },
  ): Promise<ReviewRecord> {
    const actor = this.requireRole(repo, actorIn, 'read');
    const pull = this.pull(repo, number);
    const issue = this.issue(repo, number);
    const states: Record<string, ReviewRecord['state']> = {
      APPROVE: 'APPROVED',
      REQUEST_CHANGES: 'CHANGES_REQUESTED',
      COMMENT: 'COMMENTED',
    };
    const state = input.event ? states[input.event] : 'PENDING';
    if (!state)
      throw new ForgeError(422, 'Validation Failed', [
        { resource: 'PullRequestReview', field: 'event', code: 'invalid' },
      ]);
    // GitHub refuses to let the author approve or request changes on their own pull request.
    if (issue.author === actor.login && (state === 'APPROVED' || state === 'CHANGES_REQUESTED')) {
      throw new ForgeError(422, 'Unprocessable Entity', [
        `Review Can not ${state === 'APPROVED' ? 'approve' : 'request changes on'} your own pull request`,
      ]);
    }
    if ((state === 'CHANGES_REQUESTED' || state === 'COMMENTED') && !input.body) {
      throw new ForgeError(422, 'Unprocessable Entity', [`Review body is required for ${input.event}`]);
    }
    const review: ReviewRecord = {
      id: this.state.newId(),
      pullNumber: number,
      author: actor.login,
      body: input.body ?? '',
      state,
      commitId: input.commit_id ?? pull.headSha,
      submittedAt: state === 'PENDING' ? null : nowIso(),
    };
    repo.reviews.push(review);
    if (state !== 'PENDING') {
      this.emit('pull_request_review', repo, actor, {
        action: 'submitted',
        review: this.reviewJson(repo, review),
        ...this.pullEventFields(repo, number),
      });
    }
    await this.state.persist();
    return review;
  }

  reviewJson(repo: RepoRecord, review: ReviewRecord) {
    return reviewJson(this.render, repo, review);
  }

  // ---------------------------------------------------------------------------------------------
  // local CI and checks
  // ---------------------------------------------------------------------------------------------
  private pullRefsFor(repo: RepoRecord, sha: string): unknown[] {
    return repo.pulls
      .filter((pull) => pull.headSha === sha && this.issue(repo, pull.number).state === 'open')
      .map((pull) => pullRefJson(this.urls, repo, pull, pull.baseSha));
  }

  checkSuiteJson(repo: RepoRecord, suite: CheckSuiteRecord, headCommit?: CommitData) {
    return checkSuiteJson(
      this.urls,
      repo,
      this.userOrGhost(repo.owner),
      suite,
      this.pullRefsFor(repo, suite.headSha),
      headCommit,
    );
  }

  checkRunJson(repo: RepoRecord, run: CheckRunRecord) {
    const suite = repo.checkSuites.find((candidate) => candidate.id === run.suiteId) as CheckSuiteRecord;
    return checkRunJson(
      this.urls,
      repo,
      this.userOrGhost(repo.owner),
      run,
      suite,
      this.pullRefsFor(repo, run.headSha),
    );
  }

  /** Queues the repo's check command for a new PR head (one suite per head SHA). */
  private scheduleChecks(actor: UserRecord, repo: RepoRecord, pull: PullRecord, before: string | null): void {
    const command = repo.ciCommand;
    if (!command || this.closed) return;
    const headSha = pull.headSha;
    if (repo.checkSuites.some((suite) => suite.headSha === headSha)) return;
    const now = nowIso();
    const suite: CheckSuiteRecord = {
      id: this.state.newId(),
      headSha,
      headBranch: pull.headRef,
      before,
      status: 'queued',
      conclusion: null,
      createdAt: now,
      updatedAt: now,
      workflowRunId: this.state.newId(),
      runNumber: repo.checkSuites.length + 1,
    };
    const run: CheckRunRecord = {
      id: this.state.newId(),
      suiteId: suite.id,
      name: CHECK_RUN_NAME,
      headSha,
      status: 'queued',
      conclusion: null,
      startedAt: now,
      completedAt: null,
      output: { title: null, summary: null, text: null },
    };
    // Recorded before the request that caused it returns, so a reader never sees "no CI" for it.
    repo.checkSuites.push(suite);
    repo.checkRuns.push(run);
    this.ciJobs += 1;
    void this.ciLimiter
      .run(() => this.executeChecks(actor, repo, suite, run, command))
      .catch((error: unknown) =>
        this.completeChecks(actor, repo, suite, run, {
          conclusion: 'failure',
          summary: 'The local CI could not run the check command.',
          text: error instanceof Error ? error.message : String(error),
        }),
      )
      .catch(() => undefined)
      .finally(() => {
        this.ciJobs -= 1;
      });
  }

  private async executeChecks(
    actor: UserRecord,
    repo: RepoRecord,
    suite: CheckSuiteRecord,
    run: CheckRunRecord,
    command: string,
  ): Promise<void> {
    if (this.closed) return;
    const started = nowIso();
    suite.status = 'in_progress';
    suite.updatedAt = started;
    run.status = 'in_progress';
    run.startedAt = started;
    void this.state.persist();
    const git = this.git(repo);
    const result = await runCheckJob({
      command,
      checkout: (dir) => git.checkout(suite.headSha, dir),
      timeoutMs: this.options.ciTimeoutMs,
      maxOutputBytes: this.options.ciMaxOutputBytes ?? 64 * 1024,
      signal: this.stopping.signal,
    });
    if (this.closed) return;
    const seconds = (result.durationMs / 1000).toFixed(1);
    const summary =
      result.conclusion === 'success'
        ? `\`${command}\` passed in ${seconds} s.`
        : result.conclusion === 'timed_out'
          ? `\`${command}\` timed out after ${Math.round(this.options.ciTimeoutMs / 1000)} s.`
          : `\`${command}\` failed with exit code ${result.exitCode ?? 'none'} after ${seconds} s.`;
    let text = result.log;
    let truncated = result.truncated;
    if (text.length > MAX_OUTPUT_TEXT) {
      text = text.slice(text.length - MAX_OUTPUT_TEXT);
      truncated = true;
    }
    if (truncated) text = `[output truncated: last ${text.length} characters]\n${text}`;
    await this.completeChecks(actor, repo, suite, run, { conclusion: result.conclusion, summary, text });
  }

  private async completeChecks(
    actor: UserRecord,
    repo: RepoRecord,
    suite: CheckSuiteRecord,
    run: CheckRunRecord,
    outcome: { conclusion: 'success' | 'failure' | 'timed_out'; summary: string; text: string },
  ): Promise<void> {
    const now = nowIso();
    run.status = 'completed';
    run.conclusion = outcome.conclusion;
    run.completedAt = now;
    run.output = {
      title:
        outcome.conclusion === 'success'
          ? 'Checks passed'
          : outcome.conclusion === 'timed_out'
            ? 'Checks timed out'
            : 'Checks failed',
      summary: outcome.summary,
      text: outcome.text,
    };
    suite.status = 'completed';
    suite.conclusion = outcome.conclusion === 'success' ? 'success' : 'failure';
    suite.updatedAt = now;
    void this.state.persist();
    await this.emitCheckEvents(actor, repo, suite, run);
  }

  private async emitCheckEvents(
    actor: UserRecord,
    repo: RepoRecord,
    suite: CheckSuiteRecord,
    run: CheckRunRecord,
  ): Promise<void> {
    const headCommit = await this.git(repo).readCommit(suite.headSha);
    this.emit('check_run', repo, actor, { action: 'completed', check_run: this.checkRunJson(repo, run) });
    this.emit('check_suite', repo, actor, {
      action: 'completed',
      check_suite: this.checkSuiteJson(repo, suite, headCommit),
    });
    this.emit('workflow_run', repo, actor, {
      action: 'completed',
      workflow_run: workflowRunJson(
        this.urls,
        repo,
        this.userOrGhost(repo.owner),
        suite,
        this.pullRefsFor(repo, suite.headSha),
        actor,
        headCommit,
      ),
      workflow: workflowJson(this.urls, repo),
    });
  }
}

/** git check-ref-format, the parts that matter here. */
function isValidRefName(ref: string): boolean {
  if ([...ref].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) return false;
  return !/(\.\.|[\s~^:?*[\\]|@\{|\/\/|\/$|\.lock(\/|$)|\/\.)/.test(ref) && !ref.endsWith('.');
}

function gitToForge(error: unknown): unknown {
  if (error instanceof GitError) return new ForgeError(error.kind === 'not_found' ? 404 : 422, error.message);
  return error;
}
