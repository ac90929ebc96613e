import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { renderPage } from './pages';
import { handleRest } from './rest';
import { CODELOAD_PREFIX, handleCodeload, handleJobLogs, JOB_LOGS_PREFIX } from './downloads';
import {
  BOT_LOGIN,
  SAMPLE_CI_COMMAND,
  SAMPLE_COLLABORATORS,
  SAMPLE_DEFAULT_BRANCH,
  SAMPLE_REPO_FILES,
  SAMPLE_ISSUE,
  SAMPLE_LABEL,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  SAMPLE_USER_EMAILS,
} from './sample';
import { ForgeService } from './service';
import { ForgeError } from './service/errors';
import type { CreateRepoInput } from './service/repos';
import { handleGitHttp, matchGitPath } from './smart-http';
import { ForgeState, type IssueRecord, type RepoRecord, type Role, type UserRecord } from './state';
import { type DeliveryRecord, WebhookSender } from './webhooks';

/**
 * The local forge: a GitHub stand-in for the embedded stack and the tests. REST under
 * `${url}/api/v3` (GitHub Enterprise layout; Octokit's `baseUrl`), git smart HTTP for clone and
 * fetch at `${url}/<owner>/<repo>.git`, signed webhooks to `webhookUrl`, and local CI.
 */

export interface ForgeOptions {
  /** 0 or absent: an OS-chosen port. */
  port?: number;
  /** Where repositories and the state file live; absent: a temp dir removed on close, state in memory. */
  dataDir?: string;
  webhookUrl?: string;
  webhookSecret: string;
  /** Time limit of one CI run (default 120 s). */
  ciTimeoutMs?: number;
  /** CI runs at a time (default 2). */
  ciConcurrency?: number;
  /** Webhook delivery attempts (first included, default 3) and their backoff. */
  webhookMaxAttempts?: number;
  webhookRetryDelaysMs?: number[];
}

export interface Forge {
  url: string;
  apiUrl: string;
  /** Token of every user that has one (seeded users included once seeded), by login. */
  readonly tokens: Record<string, string>;
  /** Token of the factory's bot user `code-factory[bot]` (write access to seeded repos). */
  botToken: string;
  botLogin: string;
  service: ForgeService;
  seedSample(): Promise<void>;
  actions: ForgeActions;
  deliveries(): DeliveryRecord[];
  redeliver(deliveryId: string): Promise<DeliveryRecord>;
  /** Resolves when no CI run and no webhook delivery is pending (rejects after `timeoutMs`). */
  waitForIdle(timeoutMs?: number): Promise<void>;
  checkout(owner: string, repo: string, sha: string, dir: string): Promise<void>;
  close(): Promise<void>;
}

export interface ForgeActions {
  createUser(login: string, options?: { type?: 'User' | 'Bot'; email?: string }): UserRecord;
  createRepo(input: CreateRepoInput): Promise<RepoRecord>;
  setRole(owner: string, repo: string, login: string, role: Role | 'none'): void;
  setCiCommand(owner: string, repo: string, command: string | null): void;
  createIssue(
    user: string,
    owner: string,
    repo: string,
    issue: { title: string; body?: string; labels?: string[] },
  ): Promise<IssueRecord>;
  labelIssue(user: string, owner: string, repo: string, issueNumber: number, label: string): Promise<void>;
  comment(
    user: string,
    owner: string,
    repo: string,
    issueNumber: number,
    body: string,
  ): Promise<{ id: number }>;
  /** Commits whole files (null deletes) on a branch, creating it from the default branch if needed. */
  pushCommit(
    user: string,
    owner: string,
    repo: string,
    branch: string,
    files: Record<string, string | null>,
    message: string,
  ): Promise<string>;
  /** Opens a pull request from `head` into `base` as `user` (webhook `pull_request.opened`). */
  openPull(
    user: string,
    owner: string,
    repo: string,
    pull: { title: string; body: string; head: string; base: string },
  ): Promise<{ number: number; headSha: string }>;
  /** Submits a review as `user` (webhook `pull_request_review.submitted`); comments by line. */
  review(
    user: string,
    owner: string,
    repo: string,
    pullNumber: number,
    review: {
      event: 'APPROVE' | 'REQUEST_CHANGES' | 'COMMENT';
      body: string;
      comments?: Array<{ path: string; line: number; body: string }>;
    },
  ): Promise<{ id: number }>;
  setWebhookUrl(url: string | undefined): void;
}

export async function startForge(options: ForgeOptions): Promise<Forge> {
  const ownsDir = !options.dataDir;
  const root = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'forge-')));
  const state = await ForgeState.open(options.dataDir);
  const webhooks = new WebhookSender({
    ...(options.webhookUrl ? { url: options.webhookUrl } : {}),
    secret: options.webhookSecret,
    ...(options.webhookMaxAttempts ? { maxAttempts: options.webhookMaxAttempts } : {}),
    ...(options.webhookRetryDelaysMs ? { retryDelaysMs: options.webhookRetryDelaysMs } : {}),
  });
  const urls = { web: '', api: '' };
  const service = new ForgeService({
    state,
    reposDir: path.join(root, 'repos'),
    urls,
    webhooks,
    ciTimeoutMs: options.ciTimeoutMs ?? 120_000,
    ciConcurrency: options.ciConcurrency ?? 2,
  });

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://forge.local');
    let pathname = url.pathname;
    const handle = async () => {
      const gitTarget = matchGitPath(pathname);
      if (gitTarget) return handleGitHttp(service, request, response, gitTarget, url.searchParams);
      if (pathname.startsWith(CODELOAD_PREFIX))
        return handleCodeload(service, response, pathname, url.searchParams);
      if (pathname.startsWith(JOB_LOGS_PREFIX))
        return handleJobLogs(service, response, pathname, url.searchParams);
      if (pathname === '/api/graphql') pathname = '/graphql';
      else if (pathname.startsWith('/api/v3/')) pathname = pathname.slice('/api/v3'.length);
      else if (request.method === 'GET' && (await renderPage(service, pathname, response))) return;
      return handleRest(service, request, response, pathname, url.searchParams);
    };
    handle().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(error instanceof Error ? error.message : 'forge error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  urls.web = `http://127.0.0.1:${port}`;
  urls.api = `${urls.web}/api/v3`;

  const bot = service.users.ensure(BOT_LOGIN, 'Bot');
  await state.persist();

  const actorOf = (login: string): UserRecord => {
    const user = service.users.get(login);
    if (!user) throw new ForgeError(404, `no user ${login}`);
    return user;
  };

  const actions: ForgeActions = {
    createUser: (login, userOptions) =>
      service.users.ensure(login, userOptions?.type ?? 'User', userOptions?.email),
    createRepo: (input) => service.repos.create(input),
    setRole: (owner, repo, login, role) => service.repos.setRole(service.repos.get(owner, repo), login, role),
    setCiCommand: (owner, repo, command) =>
      service.repos.setCiCommand(service.repos.get(owner, repo), command),
    createIssue: (user, owner, repo, issue) =>
      service.issues.create(actorOf(user), service.repos.get(owner, repo), {
        title: issue.title,
        body: issue.body ?? '',
        ...(issue.labels ? { labels: issue.labels } : {}),
      }),
    labelIssue: async (user, owner, repo, issueNumber, label) => {
      await service.labels.add(actorOf(user), service.repos.get(owner, repo), issueNumber, [label]);
    },
    comment: async (user, owner, repo, issueNumber, body) => {
      const comment = await service.comments.create(
        actorOf(user),
        service.repos.get(owner, repo),
        issueNumber,
        body,
      );
      return { id: comment.id };
    },
    pushCommit: (user, owner, repo, branch, files, message) =>
      service.gitData.pushFiles(actorOf(user), service.repos.get(owner, repo), branch, files, message),
    review: async (user, owner, repo, pullNumber, review) => {
      const created = await service.reviews.create(
        actorOf(user),
        service.repos.get(owner, repo),
        pullNumber,
        {
          event: review.event,
          body: review.body,
          ...(review.comments ? { comments: review.comments } : {}),
        },
      );
      return { id: created.id };
    },
    openPull: async (user, owner, repo, pull) => {
      const created = await service.pulls.create(actorOf(user), service.repos.get(owner, repo), pull);
      return { number: created.number, headSha: created.headSha };
    },
    setWebhookUrl: (webhookUrl) => webhooks.setUrl(webhookUrl),
  };

  const seedSample = async () => {
    if (service.repos.has(SAMPLE_OWNER, SAMPLE_REPO)) return;
    for (const login of Object.keys(SAMPLE_COLLABORATORS))
      service.users.ensure(login, 'User', SAMPLE_USER_EMAILS[login]);
    await service.repos.create({
      owner: SAMPLE_OWNER,
      name: SAMPLE_REPO,
      description: 'Small string helpers (the Code Factory sample).',
      defaultBranch: SAMPLE_DEFAULT_BRANCH,
      files: SAMPLE_REPO_FILES,
      roles: { ...SAMPLE_COLLABORATORS, [BOT_LOGIN]: 'write' },
      ciCommand: SAMPLE_CI_COMMAND,
      labels: [
        { name: SAMPLE_LABEL, color: '5319e7', description: 'Ask Code Factory to work on this issue' },
      ],
      author: SAMPLE_ISSUE.author,
    });
    const issue = await service.issues.create(
      actorOf(SAMPLE_ISSUE.author),
      service.repos.get(SAMPLE_OWNER, SAMPLE_REPO),
      {
        title: SAMPLE_ISSUE.title,
        body: SAMPLE_ISSUE.body,
      },
    );
    if (issue.number !== SAMPLE_ISSUE.number) throw new Error(`sample issue got number ${issue.number}`);
  };

  const waitForIdle = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    // Two quiet looks in a row: a finished CI run raises deliveries right after it ends.
    let quiet = 0;
    while (quiet < 2) {
      if (Date.now() > deadline) throw new Error(`forge not idle after ${timeoutMs} ms`);
      quiet = service.busy ? 0 : quiet + 1;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  let closed = false;
  return {
    url: urls.web,
    apiUrl: urls.api,
    get tokens() {
      return service.users.tokens();
    },
    botToken: bot.token as string,
    botLogin: bot.login,
    service,
    seedSample,
    actions,
    deliveries: () => webhooks.deliveries(),
    redeliver: (deliveryId) => webhooks.redeliver(deliveryId),
    waitForIdle,
    checkout: (owner, repo, sha, dir) => service.repos.git(service.repos.get(owner, repo)).checkout(sha, dir),
    close: async () => {
      if (closed) return;
      closed = true;
      webhooks.close();
      await service.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await state.flush();
      if (ownsDir) await rm(root, { recursive: true, force: true });
    },
  };
}

export * from './sample';
export type { DeliveryRecord } from './webhooks';
