import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  canonicalRepo,
  RepoFullName,
  RUN_STATUSES,
  type Run,
  RunId,
  workItemKeyOf,
} from '../../functions/shared/domain/run';
import { monthlyBudgetAccount } from '../../functions/shared/store/keys';
import type { Store, StoredAuditEvent } from '../../functions/shared/ports';
import { readMailStore } from '../emulators/ses';
import { SAMPLE_FULL_NAME } from '../forge/sample';
import { type ApiProxyOptions, proxyApi } from './api-proxy';
import { costsPage } from './costs-page';
import { workItemPage } from './work-item-page';
import { PAGE_HEADERS, SCRIPT_HEADERS } from './html';
import { COPILOT_SCRIPT } from './copilot-panel';
import { LIVE_PAGE_SCRIPT } from './live-page-script';
import { LIVE_SCRIPT } from './live-script';
import { type ForgePull, forgePage, mailPage, messagePage, runDetailPage, runsPage } from './pages';

/**
 * The local console: a small read-only web UI over the embedded stack (runs, run detail, a work
 * item's runs, costs, the mailbox of the local SES, the forge's pull requests). Server-rendered HTML, bound to 127.0.0.1;
 * the run page's one script keeps it current by polling the API through `api-proxy.ts`. It reads the same Store the handlers write, the SES mail store over HTTP,
 * and the forge over its GitHub-like REST API.
 */

export type ConsoleStore = Pick<
  Store,
  | 'listRunsByRepo'
  | 'listRunsByStatus'
  | 'getRun'
  | 'listEvents'
  | 'listLedger'
  | 'listApprovalsForRun'
  | 'getBudget'
  | 'getWorkItemWithRuns'
>;

export interface ConsoleOptions {
  store: ConsoleStore;
  mailUrl: string;
  /** The forge's REST base (`…/api/v3`); its web pages are the same origin without `/api/v3`. */
  forgeApiUrl: string;
  forgeToken: string;
  /**
   * The REST API and a `runs:read` key: the live run page polls it, the copilot panel asks with it
   * (without it, pages are static). `writeKey` (runs:write) sends the actions a person confirms
   * on a copilot proposal (retry, cancel); without it there is no copilot panel.
   */
  api?: { url: string; key: string; writeKey?: string };
  /** 0 or absent: an OS-chosen port. */
  port?: number;
  /** The repository whose runs and pull requests are always listed (default the sample). */
  sampleRepo?: string;
  /** Milliseconds a page may take to load its data before answering 504 (default 10 s). */
  pageTimeoutMs?: number;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

const RUNS_PER_QUERY = 50;
const RUNS_PER_STATUS = 20;
const MAX_REPOS = 20;
const MAX_RUNS_SHOWN = 100;
const EVENTS_PAGE = 200;
const MAX_EVENT_PAGES = 5;
const MAX_EMAILS_SHOWN = 100;
const WORK_ITEM_RUNS = 20;
const FETCH_TIMEOUT_MS = 5_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs of the sample repo and of every repo seen by status, newest first (ULIDs sort by time). */
async function loadRuns(store: ConsoleStore, sampleRepo: string): Promise<Run[]> {
  const byStatus = await Promise.all(
    RUN_STATUSES.map((status) => store.listRunsByStatus(status, { limit: RUNS_PER_STATUS })),
  );
  const seen = byStatus.flatMap((page) => page.items);
  const repos = [...new Set([sampleRepo, ...seen.map((run) => run.repo)])].slice(0, MAX_REPOS);
  const byRepo = await Promise.all(
    repos.map((repo) => store.listRunsByRepo(repo, { limit: RUNS_PER_QUERY })),
  );
  const runs = new Map<string, Run>();
  for (const run of [...seen, ...byRepo.flatMap((page) => page.items)]) {
    const known = runs.get(run.runId);
    if (!known || run.version > known.version) runs.set(run.runId, run);
  }
  return [...runs.values()].sort((a, b) => b.runId.localeCompare(a.runId)).slice(0, MAX_RUNS_SHOWN);
}

async function loadEvents(
  store: ConsoleStore,
  runId: string,
): Promise<{ events: StoredAuditEvent[]; truncated: boolean }> {
  const events: StoredAuditEvent[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_EVENT_PAGES; page++) {
    const result = await store.listEvents(runId, { limit: EVENTS_PAGE, ...(cursor ? { cursor } : {}) });
    events.push(...result.items);
    cursor = result.cursor;
    if (!cursor) return { events, truncated: false };
  }
  return { events, truncated: true };
}

async function loadPulls(forgeApiUrl: string, token: string, repo: string): Promise<ForgePull[]> {
  const url = `${forgeApiUrl}/repos/${repo}/pulls?state=all&per_page=100`;
  const response = await fetch(url, {
    headers: { authorization: `token ${token}`, accept: 'application/vnd.github+json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  }).catch((error: unknown) => {
    throw new HttpError(502, 'Forge unreachable', `The forge did not answer: ${String(error)}`);
  });
  if (!response.ok) throw new HttpError(502, 'Forge error', `The forge answered HTTP ${response.status}.`);
  const pulls = (await response.json()) as ForgePull[];
  return [...pulls].sort((a, b) => b.number - a.number);
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HttpError(504, 'Too slow', `The page's data did not load within ${ms} ms.`)),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const sampleRepo = options.sampleRepo ?? SAMPLE_FULL_NAME;
  const forgeWebUrl = options.forgeApiUrl.replace(/\/api\/v3\/?$/, '');
  const pageTimeoutMs = options.pageTimeoutMs ?? 10_000;

  const render = async (pathname: string): Promise<string> => {
    const now = Date.now();
    if (pathname === '/') {
      return runsPage({
        runs: await loadRuns(options.store, sampleRepo),
        now,
        forgeWebUrl,
        sampleRepo,
        copilot: proxy?.writeKey !== undefined,
      });
    }
    const runMatch = /^\/runs\/([^/]+)\/?$/.exec(pathname);
    if (runMatch) {
      const runId = decodeURIComponent(runMatch[1] as string);
      if (!RunId.safeParse(runId).success)
        throw new HttpError(404, 'No such run', `"${runId}" is not a run id (a ULID).`);
      const run = await options.store.getRun(runId);
      if (!run) throw new HttpError(404, 'No such run', `There is no run ${runId}.`);
      const [{ events, truncated }, ledger, approvals, budget] = await Promise.all([
        loadEvents(options.store, runId),
        options.store.listLedger(runId),
        options.store.listApprovalsForRun(runId),
        options.store.getBudget(runId),
      ]);
      return runDetailPage({
        run,
        events,
        eventsTruncated: truncated,
        ledger,
        approvals,
        ...(budget ? { budget } : {}),
        now,
        forgeWebUrl,
        live: proxy !== undefined,
      });
    }
    const itemMatch = /^\/work-items\/([^/]+)\/([^/]+)\/(\d{1,9})\/?$/.exec(pathname);
    if (itemMatch) {
      const [owner, repo, issue] = itemMatch.slice(1).map((part) => decodeURIComponent(part as string));
      const fullName = `${owner}/${repo}`;
      if (!RepoFullName.safeParse(fullName).success)
        throw new HttpError(404, 'No such work item', `"${fullName}" is not a repository name.`);
      const key = workItemKeyOf(fullName, Number(issue));
      const { workItem, runs } = await options.store.getWorkItemWithRuns(key, { limit: WORK_ITEM_RUNS });
      if (!workItem && runs.items.length === 0)
        throw new HttpError(404, 'No such work item', `There is no work item ${key}.`);
      const threads = await Promise.all(
        runs.items.map(async (run) => {
          const [approvals, { events }] = await Promise.all([
            options.store.listApprovalsForRun(run.runId),
            loadEvents(options.store, run.runId),
          ]);
          return { run, approvals, events };
        }),
      );
      return workItemPage({ key, ...(workItem ? { workItem } : {}), runs: threads, forgeWebUrl });
    }
    if (pathname === '/costs') {
      const runs = await loadRuns(options.store, sampleRepo);
      const month = new Date(now).toISOString().slice(0, 7);
      const repos = [...new Set([sampleRepo, ...runs.map((run) => run.repo)].map(canonicalRepo))].slice(
        0,
        MAX_REPOS,
      );
      const budgets = await Promise.all(
        repos.map(async (repo) => ({
          repo,
          budget: await options.store.getBudget(monthlyBudgetAccount(repo, now)),
        })),
      );
      return costsPage({
        runs,
        month,
        budgets: budgets.flatMap(({ repo, budget }) => (budget ? [{ repo, ...budget }] : [])),
      });
    }
    if (pathname === '/mail') {
      const store = await readMailStore(options.mailUrl, { timeoutMs: FETCH_TIMEOUT_MS }).catch(
        (error: unknown) => {
          throw new HttpError(
            502,
            'Mail store unreachable',
            `The local SES did not answer: ${String(error)}`,
          );
        },
      );
      return mailPage({
        emails: [...store.emails].sort((a, b) => b.at - a.at).slice(0, MAX_EMAILS_SHOWN),
        mailUrl: options.mailUrl,
      });
    }
    if (pathname === '/forge') {
      const pulls = await loadPulls(options.forgeApiUrl, options.forgeToken, sampleRepo);
      return forgePage({ repo: sampleRepo, repoUrl: `${forgeWebUrl}/${sampleRepo}`, pulls, now });
    }
    throw new HttpError(404, 'Not found', `Nothing here at ${pathname}. Try the runs list at /.`);
  };

  const proxy: ApiProxyOptions | undefined = options.api && { ...options.api, timeoutMs: FETCH_TIMEOUT_MS };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    // The API proxy answers its own POSTs (asks, and actions a person confirmed); pages are read-only.
    if (proxy && (await proxyApi(proxy, request, response))) return;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...PAGE_HEADERS, allow: 'GET, HEAD' });
      response.end(messagePage('Method not allowed', 'The console is read-only.'));
      return;
    }
    if (request.url === '/console.js') {
      response.writeHead(200, SCRIPT_HEADERS);
      response.end(
        request.method === 'HEAD' ? undefined : `${LIVE_SCRIPT}\n${LIVE_PAGE_SCRIPT}\n${COPILOT_SCRIPT}`,
      );
      return;
    }
    let status = 200;
    let html: string;
    try {
      const { pathname } = new URL(request.url ?? '/', 'http://console.local');
      html = await withDeadline(render(pathname), pageTimeoutMs);
    } catch (error) {
      const known = error instanceof HttpError ? error : undefined;
      status = known?.status ?? 500;
      html = messagePage(known?.title ?? 'Console error', known?.message ?? String(error));
    }
    // Live pages ask for themselves again: an unchanged page is a 304 without a body.
    const etag = `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`;
    if (status === 200 && request.headers['if-none-match'] === etag) {
      response.writeHead(304, { ...PAGE_HEADERS, etag });
      response.end();
      return;
    }
    response.writeHead(status, status === 200 ? { ...PAGE_HEADERS, etag } : PAGE_HEADERS);
    response.end(request.method === 'HEAD' ? undefined : html);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500, PAGE_HEADERS);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Browsers keep connections alive; do not wait for their idle timeout.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
