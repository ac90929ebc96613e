import type {
  CheckSummary,
  GitHub,
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
import { type GitHubClient, GitHubClients, type OctokitGitHubOptions } from './github-client';

/** 30 pages of 100: GitHub lists at most 3000 files of a pull request. */
const MAX_PULL_FILE_PAGES = 30;

export { foldChecks, MAX_JOB_LOG_CHARS } from './github-checks';
export { type GitHubCredentials, type OctokitGitHubOptions, parseGitHubCredentials } from './github-client';

const PERMISSIONS: readonly Permission[] = ['admin', 'maintain', 'write', 'triage', 'read', 'none'];

/** The GitHub port over Octokit route strings (clients and auth: github-client.ts). */
export class OctokitGitHub implements GitHub {
  private readonly clients: GitHubClients;

  constructor(private readonly options: OctokitGitHubOptions) {
    this.clients = new GitHubClients(options);
  }

  private client(repo: RepoRef): Promise<GitHubClient> {
    return this.clients.for(repo);
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

async function rawPull(octokit: GitHubClient, repo: RepoRef, number: number): Promise<RawPull> {
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

/** A whole repository's tarball may take longer than one ordinary request's limit. */
const TARBALL_TIMEOUT_MS = 90_000;
