import type { CommitData, GitIdentity } from './git';
import type {
  AnnotationRecord,
  CheckRunRecord,
  CheckSuiteRecord,
  CommentRecord,
  IssueRecord,
  LabelRecord,
  PullRecord,
  RepoRecord,
  ReviewCommentRecord,
  ReviewRecord,
  Role,
  StatusRecord,
  UserRecord,
} from './state';

/**
 * JSON shapes of GitHub's REST resources (and of the same objects inside webhook payloads), with
 * the URLs pointing at the forge. Fields the factory or Octokit read are exact; the rest are the
 * usual ones GitHub sends, so payloads look like @octokit/webhooks-examples fixtures.
 */

export interface Urls {
  /** Web root: html_url, clone URLs. */
  web: string;
  /** REST root (GitHub Enterprise style `/api/v3`). */
  api: string;
}

export const APP_ID = 1;
export const APP_SLUG = 'code-factory';
export const INSTALLATION_ID = 1;
export const WORKFLOW_ID = 1;
export const WORKFLOW_NAME = 'CI';
export const WORKFLOW_PATH = '.github/workflows/ci.yml';

const nodeId = (type: string, id: number | string): string => Buffer.from(`${type}:${id}`).toString('base64');

export function userJson(urls: Urls, user: UserRecord) {
  const api = `${urls.api}/users/${encodeURIComponent(user.login)}`;
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId(user.type, user.id),
    avatar_url: `${urls.web}/avatars/${encodeURIComponent(user.login)}`,
    gravatar_id: '',
    url: api,
    html_url: `${urls.web}/${encodeURIComponent(user.login)}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: user.type,
    site_admin: false,
  };
}

export function fullUserJson(urls: Urls, user: UserRecord) {
  return {
    ...userJson(urls, user),
    name: user.name,
    email: user.email,
    company: null,
    blog: '',
    location: null,
    bio: null,
    public_repos: 0,
    followers: 0,
    following: 0,
    created_at: user.createdAt,
    updated_at: user.createdAt,
  };
}

export const repoApiUrl = (urls: Urls, repo: RepoRecord): string =>
  `${urls.api}/repos/${repo.owner}/${repo.name}`;
export const repoWebUrl = (urls: Urls, repo: RepoRecord): string => `${urls.web}/${repo.owner}/${repo.name}`;

export function repoJson(urls: Urls, repo: RepoRecord, owner: UserRecord, permissionsFor?: Role | 'none') {
  const api = repoApiUrl(urls, repo);
  const web = repoWebUrl(urls, repo);
  const json: Record<string, unknown> = {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    private: false,
    owner: userJson(urls, owner),
    html_url: web,
    description: repo.description,
    fork: false,
    url: api,
    git_url: `${web}.git`,
    clone_url: `${web}.git`,
    ssh_url: `${web}.git`,
    svn_url: web,
    mirror_url: null,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    hooks_url: `${api}/hooks`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
    pushed_at: repo.createdAt,
    homepage: null,
    size: 0,
    language: null,
    has_issues: true,
    archived: false,
    disabled: false,
    visibility: 'public',
    open_issues_count: repo.issues.filter((issue) => issue.state === 'open').length,
    open_issues: repo.issues.filter((issue) => issue.state === 'open').length,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    forks_count: 0,
    forks: 0,
    has_projects: false,
    has_downloads: true,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    license: null,
    is_template: false,
    topics: [],
    web_commit_signoff_required: false,
    custom_properties: {},
    default_branch: repo.defaultBranch,
    allow_merge_commit: true,
    allow_squash_merge: true,
    allow_rebase_merge: false,
  };
  if (permissionsFor) {
    const rank = roleRank(permissionsFor);
    json.permissions = {
      admin: rank >= roleRank('admin'),
      maintain: rank >= roleRank('maintain'),
      push: rank >= roleRank('write'),
      triage: rank >= roleRank('triage'),
      pull: rank >= roleRank('read'),
    };
  }
  return json;
}

const ROLE_ORDER: ReadonlyArray<Role | 'none'> = ['none', 'read', 'triage', 'write', 'maintain', 'admin'];
export const roleRank = (role: Role | 'none'): number => ROLE_ORDER.indexOf(role);

/** GitHub's collaborator permission endpoint folds maintain into write and triage into read. */
export function permissionJson(urls: Urls, user: UserRecord, role: Role | 'none') {
  const permission =
    role === 'admin'
      ? 'admin'
      : role === 'maintain' || role === 'write'
        ? 'write'
        : role === 'none'
          ? 'none'
          : 'read';
  // GitHub's shape: the legacy permission, the role, and the collaborator's permission flags.
  const rank = { none: 0, read: 1, triage: 2, write: 3, maintain: 4, admin: 5 }[role] ?? 0;
  const permissions = {
    admin: rank >= 5,
    maintain: rank >= 4,
    push: rank >= 3,
    triage: rank >= 2,
    pull: rank >= 1,
  };
  return { permission, role_name: role, user: { ...userJson(urls, user), permissions, role_name: role } };
}

export function labelJson(urls: Urls, repo: RepoRecord, label: LabelRecord) {
  return {
    id: label.id,
    node_id: nodeId('Label', label.id),
    url: `${repoApiUrl(urls, repo)}/labels/${encodeURIComponent(label.name)}`,
    name: label.name,
    color: label.color,
    default: false,
    description: label.description,
  };
}

export function authorAssociation(repo: RepoRecord, login: string): string {
  if (login === repo.owner) return 'OWNER';
  const role = repo.roles[login];
  if (role === 'admin' || role === 'maintain' || role === 'write') return 'COLLABORATOR';
  if (role) return 'CONTRIBUTOR';
  return 'NONE';
}

export interface RenderContext {
  urls: Urls;
  user: (login: string) => UserRecord;
  label: (repo: RepoRecord, name: string) => LabelRecord;
}

export function issueJson(ctx: RenderContext, repo: RepoRecord, issue: IssueRecord) {
  const api = repoApiUrl(ctx.urls, repo);
  const web = repoWebUrl(ctx.urls, repo);
  const pull = issue.isPull ? repo.pulls.find((candidate) => candidate.number === issue.number) : undefined;
  return {
    url: `${api}/issues/${issue.number}`,
    repository_url: api,
    labels_url: `${api}/issues/${issue.number}/labels{/name}`,
    comments_url: `${api}/issues/${issue.number}/comments`,
    events_url: `${api}/issues/${issue.number}/events`,
    html_url: `${web}/${issue.isPull ? 'pull' : 'issues'}/${issue.number}`,
    id: issue.id,
    node_id: nodeId('Issue', issue.id),
    number: issue.number,
    title: issue.title,
    user: userJson(ctx.urls, ctx.user(issue.author)),
    labels: issue.labels.map((name) => labelJson(ctx.urls, repo, ctx.label(repo, name))),
    state: issue.state,
    state_reason: issue.stateReason,
    locked: false,
    assignee: null,
    assignees: [],
    milestone: null,
    comments: repo.comments.filter((comment) => comment.issueNumber === issue.number).length,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    author_association: authorAssociation(repo, issue.author),
    active_lock_reason: null,
    body: issue.body,
    reactions: reactionsJson(`${api}/issues/${issue.number}/reactions`),
    ...(pull
      ? {
          pull_request: {
            url: `${api}/pulls/${issue.number}`,
            html_url: `${web}/pull/${issue.number}`,
            diff_url: `${web}/pull/${issue.number}.diff`,
            patch_url: `${web}/pull/${issue.number}.patch`,
            merged_at: pull.mergedAt,
          },
          draft: pull.draft,
        }
      : { draft: false }),
  };
}

const reactionsJson = (url: string) => ({
  url,
  total_count: 0,
  '+1': 0,
  '-1': 0,
  laugh: 0,
  hooray: 0,
  confused: 0,
  heart: 0,
  rocket: 0,
  eyes: 0,
});

export function commentJson(ctx: RenderContext, repo: RepoRecord, comment: CommentRecord) {
  const api = repoApiUrl(ctx.urls, repo);
  return {
    url: `${api}/issues/comments/${comment.id}`,
    html_url: `${repoWebUrl(ctx.urls, repo)}/issues/${comment.issueNumber}#issuecomment-${comment.id}`,
    issue_url: `${api}/issues/${comment.issueNumber}`,
    id: comment.id,
    node_id: nodeId('IssueComment', comment.id),
    user: userJson(ctx.urls, ctx.user(comment.author)),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    author_association: authorAssociation(repo, comment.author),
    body: comment.body,
    reactions: reactionsJson(`${api}/issues/comments/${comment.id}/reactions`),
    performed_via_github_app: null,
  };
}

export interface PullExtras {
  baseTip: string;
  commits: number;
  changedFiles: number;
  mergeable: boolean | null;
}

export function pullJson(
  ctx: RenderContext,
  repo: RepoRecord,
  owner: UserRecord,
  issue: IssueRecord,
  pull: PullRecord,
  extras: PullExtras,
) {
  const api = repoApiUrl(ctx.urls, repo);
  const web = repoWebUrl(ctx.urls, repo);
  const repository = repoJson(ctx.urls, repo, owner);
  const side = (ref: string, sha: string) => ({
    label: `${repo.owner}:${ref}`,
    ref,
    sha,
    user: userJson(ctx.urls, owner),
    repo: repository,
  });
  const mergeable = issue.state === 'open' ? extras.mergeable : null;
  const mergeableState = pull.draft
    ? 'draft'
    : mergeable === null
      ? 'unknown'
      : mergeable
        ? 'clean'
        : 'dirty';
  return {
    url: `${api}/pulls/${pull.number}`,
    id: pull.id,
    node_id: nodeId('PullRequest', pull.id),
    html_url: `${web}/pull/${pull.number}`,
    diff_url: `${web}/pull/${pull.number}.diff`,
    patch_url: `${web}/pull/${pull.number}.patch`,
    issue_url: `${api}/issues/${pull.number}`,
    commits_url: `${api}/pulls/${pull.number}/commits`,
    review_comments_url: `${api}/pulls/${pull.number}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${pull.number}/comments`,
    statuses_url: `${api}/statuses/${pull.headSha}`,
    number: pull.number,
    state: issue.state,
    locked: false,
    title: issue.title,
    user: userJson(ctx.urls, ctx.user(issue.author)),
    body: issue.body,
    labels: issue.labels.map((name) => labelJson(ctx.urls, repo, ctx.label(repo, name))),
    milestone: null,
    active_lock_reason: null,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    draft: pull.draft,
    head: side(pull.headRef, pull.headSha),
    base: side(pull.baseRef, extras.baseTip),
    author_association: authorAssociation(repo, issue.author),
    auto_merge: null,
    merged: pull.merged,
    mergeable,
    rebaseable: false,
    mergeable_state: issue.state === 'open' ? mergeableState : 'unknown',
    merged_by: pull.mergedBy ? userJson(ctx.urls, ctx.user(pull.mergedBy)) : null,
    comments: repo.comments.filter((comment) => comment.issueNumber === pull.number).length,
    review_comments: 0,
    maintainer_can_modify: pull.maintainerCanModify,
    commits: extras.commits,
    additions: 0,
    deletions: 0,
    changed_files: extras.changedFiles,
    _links: {
      self: { href: `${api}/pulls/${pull.number}` },
      html: { href: `${web}/pull/${pull.number}` },
      issue: { href: `${api}/issues/${pull.number}` },
      comments: { href: `${api}/issues/${pull.number}/comments` },
      review_comments: { href: `${api}/pulls/${pull.number}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${api}/pulls/${pull.number}/commits` },
      statuses: { href: `${api}/statuses/${pull.headSha}` },
    },
  };
}

/** The short PR reference inside check suites and workflow runs. */
export function pullRefJson(urls: Urls, repo: RepoRecord, pull: PullRecord, baseTip: string) {
  const repoRef = { id: repo.id, url: repoApiUrl(urls, repo), name: repo.name };
  return {
    url: `${repoApiUrl(urls, repo)}/pulls/${pull.number}`,
    id: pull.id,
    number: pull.number,
    head: { ref: pull.headRef, sha: pull.headSha, repo: repoRef },
    base: { ref: pull.baseRef, sha: baseTip, repo: repoRef },
  };
}

export function reviewJson(ctx: RenderContext, repo: RepoRecord, review: ReviewRecord) {
  const web = repoWebUrl(ctx.urls, repo);
  return {
    id: review.id,
    node_id: nodeId('PullRequestReview', review.id),
    user: userJson(ctx.urls, ctx.user(review.author)),
    body: review.body,
    state: review.state,
    html_url: `${web}/pull/${review.pullNumber}#pullrequestreview-${review.id}`,
    pull_request_url: `${repoApiUrl(ctx.urls, repo)}/pulls/${review.pullNumber}`,
    author_association: authorAssociation(repo, review.author),
    submitted_at: review.submittedAt ?? undefined,
    commit_id: review.commitId,
    _links: {
      html: { href: `${web}/pull/${review.pullNumber}#pullrequestreview-${review.id}` },
      pull_request: { href: `${repoApiUrl(ctx.urls, repo)}/pulls/${review.pullNumber}` },
    },
  };
}

/** A pull request review comment (`GET /pulls/{n}/comments`), in its `line`/`side` form. */
export function reviewCommentJson(ctx: RenderContext, repo: RepoRecord, comment: ReviewCommentRecord) {
  const web = repoWebUrl(ctx.urls, repo);
  const api = repoApiUrl(ctx.urls, repo);
  const html = `${web}/pull/${comment.pullNumber}#discussion_r${comment.id}`;
  const url = `${api}/pulls/comments/${comment.id}`;
  return {
    url,
    pull_request_review_id: comment.reviewId,
    id: comment.id,
    node_id: nodeId('PullRequestReviewComment', comment.id),
    diff_hunk: comment.diffHunk,
    path: comment.path,
    commit_id: comment.commitId,
    original_commit_id: comment.commitId,
    user: userJson(ctx.urls, ctx.user(comment.author)),
    body: comment.body,
    created_at: comment.createdAt,
    updated_at: comment.createdAt,
    html_url: html,
    pull_request_url: `${api}/pulls/${comment.pullNumber}`,
    author_association: authorAssociation(repo, comment.author),
    _links: {
      self: { href: url },
      html: { href: html },
      pull_request: { href: `${api}/pulls/${comment.pullNumber}` },
    },
    line: comment.line,
    original_line: comment.line,
    side: comment.side,
    start_line: null,
    original_start_line: null,
    start_side: null,
    subject_type: 'line',
  };
}

function appJson(urls: Urls, owner: UserRecord) {
  return {
    id: APP_ID,
    slug: APP_SLUG,
    node_id: nodeId('App', APP_ID),
    owner: userJson(urls, owner),
    name: 'Forge CI',
    description: 'The local forge runs the configured check command.',
    external_url: urls.web,
    html_url: `${urls.web}/apps/${APP_SLUG}`,
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    permissions: { checks: 'write', contents: 'read', metadata: 'read', pull_requests: 'read' },
    events: ['pull_request'],
  };
}

export function headCommitJson(commit: CommitData) {
  const person = (identity: GitIdentity) => ({ name: identity.name, email: identity.email });
  return {
    id: commit.sha,
    tree_id: commit.tree,
    message: commit.message.replace(/\n$/, ''),
    timestamp: isoFromIdentity(commit.committer),
    author: person(commit.author),
    committer: person(commit.committer),
  };
}

export function checkSuiteJson(
  urls: Urls,
  repo: RepoRecord,
  owner: UserRecord,
  suite: CheckSuiteRecord,
  pullRequests: unknown[],
  headCommit?: CommitData,
) {
  const api = repoApiUrl(urls, repo);
  return {
    id: suite.id,
    node_id: nodeId('CheckSuite', suite.id),
    head_branch: suite.headBranch,
    head_sha: suite.headSha,
    status: suite.status,
    conclusion: suite.conclusion,
    url: `${api}/check-suites/${suite.id}`,
    before: suite.before,
    after: suite.headSha,
    pull_requests: pullRequests,
    app: appJson(urls, owner),
    created_at: suite.createdAt,
    updated_at: suite.updatedAt,
    rerequestable: true,
    runs_rerequestable: true,
    latest_check_runs_count: repo.checkRuns.filter((run) => run.suiteId === suite.id).length,
    check_runs_url: `${api}/check-suites/${suite.id}/check-runs`,
    ...(headCommit ? { head_commit: headCommitJson(headCommit) } : {}),
    repository: repoJson(urls, repo, owner),
  };
}

export function checkRunJson(
  urls: Urls,
  repo: RepoRecord,
  owner: UserRecord,
  run: CheckRunRecord,
  suite: CheckSuiteRecord,
  pullRequests: unknown[],
) {
  const api = repoApiUrl(urls, repo);
  return {
    id: run.id,
    node_id: nodeId('CheckRun', run.id),
    head_sha: run.headSha,
    external_id: String(suite.workflowRunId),
    url: `${api}/check-runs/${run.id}`,
    html_url: `${repoWebUrl(urls, repo)}/runs/${run.id}`,
    details_url: `${repoWebUrl(urls, repo)}/actions/runs/${suite.workflowRunId}`,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotations_count: run.annotations?.length ?? 0,
      annotations_url: `${api}/check-runs/${run.id}/annotations`,
    },
    name: run.name,
    check_suite: {
      id: suite.id,
      node_id: nodeId('CheckSuite', suite.id),
      head_branch: suite.headBranch,
      head_sha: suite.headSha,
      status: suite.status,
      conclusion: suite.conclusion,
      url: `${api}/check-suites/${suite.id}`,
      before: suite.before,
      after: suite.headSha,
      pull_requests: pullRequests,
      app: appJson(urls, owner),
      created_at: suite.createdAt,
      updated_at: suite.updatedAt,
    },
    app: appJson(urls, owner),
    pull_requests: pullRequests,
  };
}

/** A check run annotation as `GET …/check-runs/{id}/annotations` lists it. */
export function annotationJson(
  urls: Urls,
  repo: RepoRecord,
  run: CheckRunRecord,
  annotation: AnnotationRecord,
) {
  return {
    path: annotation.path,
    blob_href: `${repoWebUrl(urls, repo)}/blob/${run.headSha}/${annotation.path}`,
    start_line: annotation.startLine,
    end_line: annotation.endLine,
    start_column: null,
    end_column: null,
    annotation_level: annotation.level,
    title: annotation.title,
    message: annotation.message,
    raw_details: '',
  };
}

/** A commit status (`POST …/statuses/{sha}`); the combined status lists these without `creator`. */
export function statusJson(urls: Urls, repo: RepoRecord, status: StatusRecord, creator: UserRecord) {
  return {
    url: `${repoApiUrl(urls, repo)}/statuses/${status.sha}`,
    avatar_url: userJson(urls, creator).avatar_url,
    id: status.id,
    node_id: nodeId('StatusContext', status.id),
    state: status.state,
    description: status.description,
    target_url: status.targetUrl,
    context: status.context,
    created_at: status.createdAt,
    updated_at: status.updatedAt,
    creator: userJson(urls, creator),
  };
}

/** Fields of the full repository that webhook "repository lite" objects (workflow_run's) leave out. */
const NOT_IN_REPO_LITE = new Set([
  'git_url',
  'clone_url',
  'ssh_url',
  'svn_url',
  'mirror_url',
  'created_at',
  'updated_at',
  'pushed_at',
  'homepage',
  'size',
  'language',
  'has_issues',
  'archived',
  'disabled',
  'visibility',
  'open_issues_count',
  'open_issues',
  'stargazers_count',
  'watchers_count',
  'watchers',
  'forks_count',
  'forks',
  'has_projects',
  'has_downloads',
  'has_wiki',
  'has_pages',
  'has_discussions',
  'license',
  'is_template',
  'topics',
  'web_commit_signoff_required',
  'custom_properties',
  'default_branch',
  'allow_merge_commit',
  'allow_squash_merge',
  'allow_rebase_merge',
  'permissions',
]);

export function repoLiteJson(urls: Urls, repo: RepoRecord, owner: UserRecord) {
  return Object.fromEntries(
    Object.entries(repoJson(urls, repo, owner)).filter(([key]) => !NOT_IN_REPO_LITE.has(key)),
  );
}

/** Fields of the full pull request that webhook "simple pull request" objects (reviews') leave out. */
export const NOT_IN_SIMPLE_PULL = [
  'merged',
  'mergeable',
  'rebaseable',
  'mergeable_state',
  'merged_by',
  'comments',
  'review_comments',
  'maintainer_can_modify',
  'commits',
  'additions',
  'deletions',
  'changed_files',
];

export function workflowRunJson(
  urls: Urls,
  repo: RepoRecord,
  owner: UserRecord,
  suite: CheckSuiteRecord,
  pullRequests: unknown[],
  actor: UserRecord,
  headCommit?: CommitData,
) {
  const api = repoApiUrl(urls, repo);
  const repository = repoLiteJson(urls, repo, owner);
  const run = `${api}/actions/runs/${suite.workflowRunId}`;
  return {
    id: suite.workflowRunId,
    name: WORKFLOW_NAME,
    node_id: nodeId('WorkflowRun', suite.workflowRunId),
    head_branch: suite.headBranch,
    head_sha: suite.headSha,
    path: WORKFLOW_PATH,
    display_title: headCommit ? (headCommit.message.split('\n')[0] ?? '') : suite.headBranch,
    run_number: suite.runNumber,
    event: 'pull_request',
    status: suite.status,
    conclusion: suite.conclusion,
    workflow_id: WORKFLOW_ID,
    check_suite_id: suite.id,
    check_suite_node_id: nodeId('CheckSuite', suite.id),
    url: `${api}/actions/runs/${suite.workflowRunId}`,
    html_url: `${repoWebUrl(urls, repo)}/actions/runs/${suite.workflowRunId}`,
    pull_requests: pullRequests,
    created_at: suite.createdAt,
    updated_at: suite.updatedAt,
    actor: userJson(urls, actor),
    triggering_actor: userJson(urls, actor),
    run_attempt: 1,
    run_started_at: suite.createdAt,
    jobs_url: `${api}/actions/runs/${suite.workflowRunId}/jobs`,
    logs_url: `${api}/actions/runs/${suite.workflowRunId}/logs`,
    check_suite_url: `${api}/check-suites/${suite.id}`,
    artifacts_url: `${run}/artifacts`,
    cancel_url: `${run}/cancel`,
    rerun_url: `${run}/rerun`,
    previous_attempt_url: null,
    workflow_url: `${api}/actions/workflows/${WORKFLOW_ID}`,
    ...(headCommit ? { head_commit: headCommitJson(headCommit) } : {}),
    repository,
    head_repository: repository,
  };
}

export function workflowJson(urls: Urls, repo: RepoRecord) {
  return {
    id: WORKFLOW_ID,
    node_id: nodeId('Workflow', WORKFLOW_ID),
    name: WORKFLOW_NAME,
    path: WORKFLOW_PATH,
    state: 'active',
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
    url: `${repoApiUrl(urls, repo)}/actions/workflows/${WORKFLOW_ID}`,
    html_url: `${repoWebUrl(urls, repo)}/actions/workflows/ci.yml`,
    badge_url: `${repoWebUrl(urls, repo)}/workflows/${WORKFLOW_NAME}/badge.svg`,
  };
}

export function isoFromIdentity(identity: GitIdentity): string {
  return new Date(identity.timestamp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function gitCommitJson(urls: Urls, repo: RepoRecord, commit: CommitData) {
  const api = repoApiUrl(urls, repo);
  const person = (identity: GitIdentity) => ({
    name: identity.name,
    email: identity.email,
    date: isoFromIdentity(identity),
  });
  return {
    sha: commit.sha,
    node_id: nodeId('Commit', commit.sha),
    url: `${api}/git/commits/${commit.sha}`,
    html_url: `${repoWebUrl(urls, repo)}/commit/${commit.sha}`,
    author: person(commit.author),
    committer: person(commit.committer),
    message: commit.message.replace(/\n$/, ''),
    tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
    parents: commit.parents.map((sha) => ({
      sha,
      url: `${api}/git/commits/${sha}`,
      html_url: `${repoWebUrl(urls, repo)}/commit/${sha}`,
    })),
    verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
  };
}

export function refJson(urls: Urls, repo: RepoRecord, ref: string, sha: string, type = 'commit') {
  const api = repoApiUrl(urls, repo);
  return {
    ref,
    node_id: nodeId('Ref', `${repo.id}:${ref}`),
    url: `${api}/git/${ref}`,
    object: { sha, type, url: `${api}/git/${type}s/${sha}` },
  };
}

export function installationJson() {
  return { id: INSTALLATION_ID, node_id: nodeId('Installation', INSTALLATION_ID) };
}
