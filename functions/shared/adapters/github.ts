import { createAppAuth } from '@octokit/auth-app';
import { Octokit as OctokitCore } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type {
  CheckSummary,
  GitHub,
  Log,
  Permission,
  NewReview,
  PostedReviewComment,
  PullFile,
  PullInfo,
  RepoRef,
  IssueInfo,
  TreeEntry,
} from '../ports';
import { readChecks, type RequestClient, statusOf } from './github-checks';

/** 30 pages of 100: GitHub lists at most 3000 files of a pull request. */
const MAX_PULL_FILE_PAGES = 30;

export { foldChecks, MAX_JOB_LOG_CHARS } from './github-checks';

/**
 * The GitHub port over Octokit: `@octokit/core` with the retry and throttling plugins (the same
 * stack the `octokit` package assembles, without its REST endpoint table, App/OAuth helpers and
 * webhooks, which would put the webhook bundle over its 300 KB budget). Calls use route strings.
 *
 * Two auth modes, chosen by the secret's shape (see `parseGitHubCredentials`):
 * - personal token: one client;
 * - GitHub App: the installation of each repository is looked up once (cached), and each
 *   installation gets its own client whose `@octokit/auth-app` strategy caches the installation
 *   token until a minute before GitHub expires it, and refreshes it transparently.
 *
 * `baseUrl` is `GITHUB_API_URL`: api.github.com, a GHES `/api/v3`, or the embedded forge.
 */
const FactoryOctokit = OctokitCore.plugin(retry, throttling);
type Client = InstanceType<typeof FactoryOctokit>;

export type GitHubCredentials =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string };

/**
 * The GitHub secret holds either a bare token, `{"token": "…"}`, or
 * `{"appId": …, "privateKey": "-----BEGIN …"}` for a GitHub App.
 */
export function parseGitHubCredentials(secretValue: string): GitHubCredentials {
  const trimmed = secretValue.trim();
  if (!trimmed.startsWith('{')) {
    if (trimmed.length === 0) throw new Error('GitHub secret is empty');
    return { kind: 'token', token: trimmed };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new Error('GitHub secret is not valid JSON');
  }
  const value = parsed as { token?: unknown; appId?: unknown; privateKey?: unknown };
  if (typeof value.token === 'string' && value.token.length > 0) return { kind: 'token', token: value.token };
  if (
    (typeof value.appId === 'string' || typeof value.appId === 'number') &&
    typeof value.privateKey === 'string'
  ) {
    return { kind: 'app', appId: String(value.appId), privateKey: value.privateKey.replace(/\\n/g, '\n') };
  }
  throw new Error('GitHub secret must hold a token or an appId and privateKey');
}

export interface OctokitGitHubOptions {
  baseUrl: string;
  /** Resolved lazily on the first call (handlers build ports synchronously at module scope). */
  credentials: GitHubCredentials | (() => Promise<GitHubCredentials>);
  /** Replaces the global fetch (tests). */
  fetch?: typeof globalThis.fetch;
  /** One request's time limit (default 20 s): a hung connection fails and is retried. */
  requestTimeoutMs?: number;
  log?: Log;
  /** Retries of 5xx and network errors (plugin-retry). */
  retries?: number;
  /** How many times a primary or secondary rate limit is waited out before giving up. */
  rateLimitRetries?: number;
  /** A rate limit asking to wait longer than this fails fast instead (Lambda time is finite). */
  maxRetryAfterSeconds?: number;
  /** Unit of the retry and rate-limit waits (1000 = seconds, as GitHub means them; tests shrink it). */
  retryBaseMs?: number;
  /**
   * Minimum spacing of mutating requests and of notification-triggering ones. Unset keeps the
   * throttling plugin's defaults (1 s and 3 s per process, GitHub's guidance for content creation).
   */
  pacing?: { writeIntervalMs: number; notificationIntervalMs: number };
  /** How long a repository's installation id is remembered. */
  installationCacheMs?: number;
}

interface ThrottleOptions {
  method?: string;
  url?: string;
  request?: { retryCount?: number };
}

const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 451];
const PERMISSIONS: readonly Permission[] = ['admin', 'maintain', 'write', 'triage', 'read', 'none'];

export class OctokitGitHub implements GitHub {
  private credentials?: Promise<GitHubCredentials>;
  private tokenClient?: Client;
  private appClient?: Client;
  private readonly installationClients = new Map<number, Client>();
  private readonly installations = new Map<string, { id: Promise<number>; expiresAt: number }>();

  constructor(private readonly options: OctokitGitHubOptions) {}

  // ------------------------------------------------------------------------------------------
  // clients
  // ------------------------------------------------------------------------------------------
  private resolveCredentials(): Promise<GitHubCredentials> {
    if (!this.credentials) {
      const source = this.options.credentials;
      const pending = typeof source === 'function' ? source() : Promise.resolve(source);
      this.credentials = pending;
      pending.catch(() => {
        if (this.credentials === pending) this.credentials = undefined;
      });
    }
    return this.credentials;
  }

  private newClient(
    auth: { token: string } | { appId: string; privateKey: string; installationId?: number },
  ) {
    const { options } = this;
    const rateLimitRetries = options.rateLimitRetries ?? 2;
    const maxWait = options.maxRetryAfterSeconds ?? 60;
    const onLimit = (kind: string) => (retryAfter: number, request: ThrottleOptions) => {
      const attempt = request.request?.retryCount ?? 0;
      const retrying = attempt < rateLimitRetries && retryAfter <= maxWait;
      options.log?.warn(`GitHub ${kind} rate limit`, {
        method: request.method,
        url: request.url,
        retryAfter,
        attempt,
        retrying,
      });
      return retrying;
    };
    const retryBaseMs = options.retryBaseMs ?? 1000;
    const throttle: Record<string, unknown> = {
      retryAfterBaseValue: retryBaseMs,
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
    };
    if (options.pacing) {
      throttle.write = intervalGroup(options.pacing.writeIntervalMs);
      throttle.notifications = intervalGroup(options.pacing.notificationIntervalMs);
    }
    const common = {
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      userAgent: 'code-factory',
      request: { fetch: withTimeout(options.fetch ?? globalThis.fetch, options.requestTimeoutMs ?? 20_000) },
      // 409 (conflict: a moved head, an existing ref) is an answer, not a transient failure.
      retry: { retries: options.retries ?? 2, retryAfterBaseValue: retryBaseMs, doNotRetry: DO_NOT_RETRY },
      throttle: throttle as never,
      log: {
        debug: () => {},
        info: () => {},
        warn: (message: string) => options.log?.warn(message),
        error: (message: string) => options.log?.error(message),
      },
    };
    if ('token' in auth) return new FactoryOctokit({ ...common, auth: auth.token });
    return new FactoryOctokit({ ...common, authStrategy: createAppAuth, auth });
  }

  private async client(repo: RepoRef): Promise<Client> {
    const credentials = await this.resolveCredentials();
    if (credentials.kind === 'token') {
      this.tokenClient ??= this.newClient({ token: credentials.token });
      return this.tokenClient;
    }
    const installationId = await this.installationId(repo, credentials);
    let client = this.installationClients.get(installationId);
    if (!client) {
      client = this.newClient({
        appId: credentials.appId,
        privateKey: credentials.privateKey,
        installationId,
      });
      this.installationClients.set(installationId, client);
    }
    return client;
  }

  private installationId(repo: RepoRef, credentials: { appId: string; privateKey: string }): Promise<number> {
    const key = `${repo.owner}/${repo.repo}`.toLowerCase();
    const now = Date.now();
    const cached = this.installations.get(key);
    if (cached && cached.expiresAt > now) return cached.id;
    this.appClient ??= this.newClient({ appId: credentials.appId, privateKey: credentials.privateKey });
    const appClient = this.appClient;
    const id = appClient
      .request('GET /repos/{owner}/{repo}/installation', { owner: repo.owner, repo: repo.repo })
      .then((response) => Number((response.data as { id: number }).id));
    this.installations.set(key, { id, expiresAt: now + (this.options.installationCacheMs ?? 60 * 60_000) });
    id.catch(() => {
      if (this.installations.get(key)?.id === id) this.installations.delete(key);
    });
    return id;
  }

  // ------------------------------------------------------------------------------------------
  // repository, files, issues
  // ------------------------------------------------------------------------------------------
  async getPermission(repo: RepoRef, username: string): Promise<Permission> {
    const octokit = await this.client(repo);
    try {
      const { data } = await octokit.request(
        'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
        {
          ...repo,
          username,
        },
      );
      const value = data as { permission?: string; role_name?: string };
      // role_name distinguishes maintain/triage, which `permission` folds into write/read.
      const role = PERMISSIONS.find((p) => p === value.role_name);
      if (role) return role;
      return PERMISSIONS.find((p) => p === value.permission) ?? 'none';
    } catch (error) {
      if (statusOf(error) === 404) return 'none';
      throw error;
    }
  }

  async getDefaultBranch(repo: RepoRef): Promise<{ name: string; sha: string }> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}', { ...repo });
    const name = (data as { default_branch: string }).default_branch;
    const sha = await this.getRef(repo, `heads/${name}`);
    if (!sha) throw new Error(`default branch ${name} of ${repo.owner}/${repo.repo} has no ref`);
    return { name, sha };
  }

  async getFile(
    repo: RepoRef,
    path: string,
    ref: string,
  ): Promise<{ content: string; sha: string } | undefined> {
    const octokit = await this.client(repo);
    let data: unknown;
    try {
      ({ data } = await octokit.request('GET /repos/{owner}/{repo}/contents/{path}', { ...repo, path, ref }));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    const file = data as { type?: string; content?: string; encoding?: string; sha: string };
    if (Array.isArray(data) || file.type !== 'file') return undefined;
    if (file.encoding === 'base64' && typeof file.content === 'string') {
      return { content: Buffer.from(file.content, 'base64').toString('utf8'), sha: file.sha };
    }
    // Files over 1 MB come without content: read the blob instead.
    const blob = await octokit.request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', {
      ...repo,
      file_sha: file.sha,
    });
    const blobData = blob.data as { content: string; encoding: string };
    const content =
      blobData.encoding === 'base64'
        ? Buffer.from(blobData.content, 'base64').toString('utf8')
        : blobData.content;
    return { content, sha: file.sha };
  }

  async listFiles(repo: RepoRef, ref: string): Promise<string[]> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/git/trees/{tree_sha}', {
      ...repo,
      tree_sha: ref,
      recursive: '1',
    });
    const tree = data as { tree: Array<{ path: string; type: string }>; truncated?: boolean };
    if (tree.truncated) this.options.log?.warn('GitHub tree listing truncated', { ...repo, ref });
    return tree.tree.filter((entry) => entry.type === 'blob').map((entry) => entry.path);
  }

  async getTarball(repo: RepoRef, ref: string): Promise<Uint8Array> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/tarball/{ref}', {
      ...repo,
      ref,
      // A whole repository, tens of MB: more than one API call's limit, within the stage's.
      request: { signal: AbortSignal.timeout(TARBALL_TIMEOUT_MS) },
    });
    return new Uint8Array(data as ArrayBuffer);
  }

  async getIssue(repo: RepoRef, issueNumber: number): Promise<IssueInfo> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
      ...repo,
      issue_number: issueNumber,
    });
    const issue = data as {
      number: number;
      title: string;
      body?: string | null;
      user?: { login: string } | null;
      state: string;
      labels?: Array<string | { name?: string }>;
    };
    return {
      number: issue.number,
      title: issue.title,
      body: issue.body ?? '',
      author: issue.user?.login ?? '',
      state: issue.state === 'closed' ? 'closed' : 'open',
      labels: (issue.labels ?? [])
        .map((label) => (typeof label === 'string' ? label : (label.name ?? '')))
        .filter((name) => name.length > 0),
    };
  }

  async createComment(repo: RepoRef, issueNumber: number, body: string): Promise<{ id: number }> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      ...repo,
      issue_number: issueNumber,
      body,
    });
    return { id: (data as { id: number }).id };
  }

  async getComment(
    repo: RepoRef,
    commentId: number,
  ): Promise<{ id: number; body: string; author: string; issueNumber: number }> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      ...repo,
      comment_id: commentId,
    });
    const comment = data as {
      id: number;
      body?: string | null;
      user?: { login: string } | null;
      issue_url?: string;
    };
    return {
      id: comment.id,
      body: comment.body ?? '',
      author: comment.user?.login ?? '',
      issueNumber: Number(/\/issues\/(\d+)$/.exec(comment.issue_url ?? '')?.[1] ?? 0),
    };
  }

  async updateComment(repo: RepoRef, commentId: number, body: string): Promise<void> {
    const octokit = await this.client(repo);
    await octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
      ...repo,
      comment_id: commentId,
      body,
    });
  }

  // ------------------------------------------------------------------------------------------
  // git data
  // ------------------------------------------------------------------------------------------
  async createTree(repo: RepoRef, baseTree: string, entries: TreeEntry[]): Promise<string> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/git/trees', {
      ...repo,
      base_tree: baseTree,
      tree: entries,
    });
    return (data as { sha: string }).sha;
  }

  async createCommit(repo: RepoRef, message: string, tree: string, parents: string[]): Promise<string> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/git/commits', {
      ...repo,
      message,
      tree,
      parents,
    });
    return (data as { sha: string }).sha;
  }

  async getCommitTree(repo: RepoRef, commitSha: string): Promise<string> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/git/commits/{commit_sha}', {
      ...repo,
      commit_sha: commitSha,
    });
    return (data as { tree: { sha: string } }).tree.sha;
  }

  async getRef(repo: RepoRef, ref: string): Promise<string | undefined> {
    const octokit = await this.client(repo);
    try {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
        ...repo,
        ref: shortRef(ref),
      });
      if (Array.isArray(data)) return undefined; // a prefix match, not this ref
      return (data as { object: { sha: string } }).object.sha;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async createRef(repo: RepoRef, ref: string, sha: string): Promise<void> {
    const octokit = await this.client(repo);
    await octokit.request('POST /repos/{owner}/{repo}/git/refs', {
      ...repo,
      ref: `refs/${shortRef(ref)}`,
      sha,
    });
  }

  async updateRef(repo: RepoRef, ref: string, sha: string, force: boolean): Promise<void> {
    const octokit = await this.client(repo);
    await octokit.request('PATCH /repos/{owner}/{repo}/git/refs/{ref}', {
      ...repo,
      ref: shortRef(ref),
      sha,
      force,
    });
  }

  async deleteRef(repo: RepoRef, ref: string): Promise<void> {
    const octokit = await this.client(repo);
    try {
      await octokit.request('DELETE /repos/{owner}/{repo}/git/refs/{ref}', { ...repo, ref: shortRef(ref) });
    } catch (error) {
      // Already gone: deleting is idempotent for the pipeline's cleanup.
      if (statusOf(error) === 404 || statusOf(error) === 422) return;
      throw error;
    }
  }

  // ------------------------------------------------------------------------------------------
  // pull requests
  // ------------------------------------------------------------------------------------------
  async findOpenPull(repo: RepoRef, headBranch: string): Promise<PullInfo | undefined> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls', {
      ...repo,
      head: `${repo.owner}:${headBranch}`,
      state: 'open',
      per_page: 10,
    });
    const pulls = (data as RawPull[]).filter((pull) => pull.head.ref === headBranch);
    return pulls[0] ? toPull(pulls[0]) : undefined;
  }

  async createPull(
    repo: RepoRef,
    pull: { title: string; body: string; head: string; base: string; draft: boolean },
  ): Promise<PullInfo> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/pulls', { ...repo, ...pull });
    return toPull(data as RawPull);
  }

  async updatePull(
    repo: RepoRef,
    number: number,
    patch: { title?: string; body?: string; state?: 'open' | 'closed' },
  ): Promise<PullInfo> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
      ...repo,
      pull_number: number,
      ...patch,
    });
    return toPull(data as RawPull);
  }

  async getPull(repo: RepoRef, number: number): Promise<PullInfo> {
    return toPull(await rawPull(await this.client(repo), repo, number));
  }

  /**
   * GitHub only offers this as a GraphQL mutation (REST ignores `draft` on update). The embedded
   * forge has no GraphQL and accepts `PATCH /pulls/{n} {draft:false}` instead, so a 404 from the
   * GraphQL endpoint falls back to that PATCH.
   */
  async markReadyForReview(repo: RepoRef, number: number): Promise<void> {
    const octokit = await this.client(repo);
    const pull = await rawPull(octokit, repo, number);
    if (!pull.draft) return;
    try {
      await octokit.graphql(
        'mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }',
        { id: pull.node_id },
      );
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      await octokit.request('PATCH /repos/{owner}/{repo}/pulls/{pull_number}', {
        ...repo,
        pull_number: number,
        draft: false,
      });
    }
  }

  /** GraphQL only, as marking it ready (REST ignores `draft` on update). */
  async convertToDraft(repo: RepoRef, number: number): Promise<void> {
    const octokit = await this.client(repo);
    const pull = await rawPull(octokit, repo, number);
    if (pull.draft || pull.state !== 'open') return;
    await octokit.graphql(
      'mutation($id: ID!) { convertPullRequestToDraft(input: {pullRequestId: $id}) { pullRequest { isDraft } } }',
      { id: pull.node_id },
    );
  }

  async mergePull(
    repo: RepoRef,
    number: number,
    sha: string,
    message: string,
  ): Promise<{ merged: boolean; sha?: string }> {
    const octokit = await this.client(repo);
    const [title = '', ...rest] = message.split('\n');
    try {
      const { data } = await octokit.request('PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge', {
        ...repo,
        pull_number: number,
        sha,
        merge_method: 'squash',
        commit_title: title,
        commit_message: rest.join('\n').trim(),
      });
      const result = data as { merged: boolean; sha?: string };
      return result.sha ? { merged: result.merged, sha: result.sha } : { merged: result.merged };
    } catch (error) {
      // 405 not mergeable, 409 head moved: both are "did not merge", decided by the caller.
      if (statusOf(error) === 405 || statusOf(error) === 409) return { merged: false };
      throw error;
    }
  }

  async createReview(repo: RepoRef, number: number, review: NewReview): Promise<{ id: number }> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
      ...repo,
      pull_number: number,
      body: review.body,
      event: review.event,
      commit_id: review.commitSha,
      ...(review.comments?.length ? { comments: review.comments } : {}),
    });
    return { id: Number(data.id) };
  }

  async listReviewComments(repo: RepoRef, number: number, reviewId: number): Promise<PostedReviewComment[]> {
    const octokit = await this.client(repo);
    const { data } = await octokit.request(
      'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments',
      { ...repo, pull_number: number, review_id: reviewId, per_page: 100 },
    );
    return data.map((c) => ({
      path: c.path,
      // A comment on a line GitHub no longer shows (outdated) has no line: 0 says so.
      line: (c as { line?: number | null }).line ?? 0,
      body: c.body,
    }));
  }

  /** The PR's files against its merge base, with their patches (bounded pages). */
  async listPullFiles(repo: RepoRef, number: number): Promise<PullFile[]> {
    const octokit = await this.client(repo);
    const files: PullFile[] = [];
    for (let page = 1; page <= MAX_PULL_FILE_PAGES; page++) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', {
        ...repo,
        pull_number: number,
        per_page: 100,
        page,
      });
      for (const file of data)
        files.push({
          path: file.filename,
          status: file.status,
          additions: file.additions,
          deletions: file.deletions,
          ...(file.previous_filename ? { previousPath: file.previous_filename } : {}),
          ...(file.patch === undefined ? {} : { patch: file.patch }),
        });
      if (data.length < 100) break;
    }
    return files;
  }

  /** Check runs and commit statuses folded into one state, with failed runs' logs and annotations. */
  async getChecks(repo: RepoRef, sha: string): Promise<CheckSummary> {
    return readChecks((await this.client(repo)) as RequestClient, repo, sha);
  }
}

interface RawPull {
  number: number;
  node_id?: string;
  html_url: string;
  state: string;
  merged?: boolean;
  merged_at?: string | null;
  draft?: boolean;
  merge_commit_sha?: string | null;
  head: { sha: string; ref: string; repo?: { full_name?: string } | null };
  base: { ref: string };
}

async function rawPull(octokit: Client, repo: RepoRef, number: number): Promise<RawPull> {
  const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
    ...repo,
    pull_number: number,
  });
  return data as RawPull;
}

function toPull(pull: RawPull): PullInfo {
  const merged = pull.merged ?? Boolean(pull.merged_at);
  return {
    number: pull.number,
    url: pull.html_url,
    headSha: pull.head.sha,
    headRef: pull.head.ref,
    ...(pull.head.repo?.full_name ? { headRepo: pull.head.repo.full_name } : {}),
    baseRef: pull.base.ref,
    state: pull.state === 'closed' ? 'closed' : 'open',
    merged,
    draft: pull.draft ?? false,
    ...(merged && pull.merge_commit_sha ? { mergeCommitSha: pull.merge_commit_sha } : {}),
  };
}

/** `refs/heads/x` and `heads/x` both name the ref `heads/x` in the git refs API. */
const shortRef = (ref: string): string => ref.replace(/^refs\//, '');

/**
 * A stand-in for the throttling plugin's Bottleneck groups: one serial lane per process that
 * spaces jobs at least `minTimeMs` apart (0 = no spacing).
 */
function intervalGroup(minTimeMs: number) {
  let nextSlot = 0;
  const lane = {
    schedule: async <T>(_options: unknown, job: (...args: unknown[]) => Promise<T>, ...args: unknown[]) => {
      if (minTimeMs > 0) {
        const now = Date.now();
        const wait = Math.max(0, nextSlot - now);
        nextSlot = Math.max(now, nextSlot) + minTimeMs;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      return job(...args);
    },
  };
  return { key: () => lane };
}

/** fetch with a time limit per request, unless the call brings its own signal (and so its own limit). */
const TARBALL_TIMEOUT_MS = 90_000;

function withTimeout(fetchImpl: typeof globalThis.fetch, timeoutMs: number): typeof globalThis.fetch {
  return (input, init) =>
    fetchImpl(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
}
