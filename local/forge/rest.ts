import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TreeChange } from './git';
import { codeloadLocation, jobLogsLocation } from './downloads';
import {
  annotationJson,
  fullUserJson,
  gitCommitJson,
  permissionJson,
  refJson,
  repoApiUrl,
  repoWebUrl,
  userJson,
} from './payloads';
import type { ForgeService } from './service';
import { ForgeError } from './service/errors';
import { pullDiff } from './service/pull-diff';
import type { ReviewCommentInput } from './service/reviews';
import type { RepoRecord, UserRecord } from './state';

/**
 * The GitHub REST subset the factory calls, with GitHub's paths, status codes and JSON fields.
 * Routes are matched on the raw path and each parameter is then URL-decoded, so refs sent as
 * `heads%2Fmain` (as Octokit does) and as `heads/main` both work.
 */

interface Context {
  forge: ForgeService;
  actor: UserRecord | undefined;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  rawBody: unknown;
  setHeader: (name: string, value: string) => void;
}
interface Result {
  status: number;
  body?: unknown;
}
type Handler = (ctx: Context) => Promise<Result> | Result;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

const MAX_BODY_BYTES = 50 * 1024 * 1024;
const routes: Route[] = [];
const route = (method: string, pattern: string, handler: Handler) => {
  routes.push({ method, segments: pattern.split('/').filter((part) => part.length > 0), handler });
};

function match(route: Route, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let index = 0; index < route.segments.length; index += 1) {
    const segment = route.segments[index] as string;
    if (segment.startsWith('*')) {
      if (index >= parts.length) return undefined;
      params[segment.slice(1)] = parts.slice(index).map(decode).join('/');
      return params;
    }
    const part = parts[index];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) params[segment.slice(1)] = decode(part);
    else if (segment !== part) return undefined;
  }
  return parts.length === route.segments.length ? params : undefined;
}

const decode = (part: string): string => {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
};

export async function handleRest(
  forge: ForgeService,
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
  query: URLSearchParams,
): Promise<void> {
  const requestId = randomUUID();
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'x-github-request-id': requestId,
    'x-github-media-type': 'github.v3; format=json',
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    'x-ratelimit-used': '1',
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    'x-ratelimit-resource': 'core',
  };
  const send = (status: number, body?: unknown) => {
    if (status === 204 || body === undefined) {
      delete headers['content-type'];
      response.writeHead(status, headers);
      response.end();
      return;
    }
    response.writeHead(status, headers);
    response.end(JSON.stringify(body));
  };
  try {
    const parts = pathname.split('/').filter((part) => part.length > 0);
    let found: { route: Route; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const candidate of routes) {
      const params = match(candidate, parts);
      if (!params) continue;
      pathMatched = true;
      if (candidate.method === request.method) {
        found = { route: candidate, params };
        break;
      }
    }
    if (!found) {
      send(
        pathMatched ? 405 : 404,
        errorBody(pathMatched ? 'Method Not Allowed' : 'Not Found', pathMatched ? 405 : 404),
      );
      return;
    }
    const actor = authenticate(forge, request.headers.authorization);
    const rawBody = await readJson(request);
    const body =
      rawBody && typeof rawBody === 'object' && !Array.isArray(rawBody)
        ? (rawBody as Record<string, unknown>)
        : {};
    const result = await found.route.handler({
      forge,
      actor,
      params: found.params,
      query,
      body,
      rawBody,
      setHeader: (name, value) => {
        headers[name] = value;
      },
    });
    send(result.status, result.body);
  } catch (error) {
    if (error instanceof ForgeError) {
      send(error.status, {
        ...errorBody(error.message, error.status),
        ...(error.errors ? { errors: error.errors } : {}),
      });
      return;
    }
    send(
      500,
      errorBody(
        error instanceof Error ? `Internal forge error: ${error.message}` : 'Internal forge error',
        500,
      ),
    );
  }
}

const errorBody = (message: string, status: number) => ({
  message,
  documentation_url: 'https://docs.github.com/rest',
  status: String(status),
});

function authenticate(forge: ForgeService, header: string | undefined): UserRecord | undefined {
  if (!header) return undefined;
  const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim());
  const user = match?.[1] ? forge.users.byToken(match[1]) : undefined;
  if (!user) throw new ForgeError(401, 'Bad credentials');
  return user;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ForgeError(413, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ForgeError(400, 'Problems parsing JSON');
  }
}

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------
const repoOf = (ctx: Context): RepoRecord =>
  ctx.forge.repos.get(ctx.params.owner as string, ctx.params.repo as string);

const numberParam = (ctx: Context, name: string): number => {
  const value = Number(ctx.params[name]);
  if (!Number.isInteger(value) || value <= 0) throw new ForgeError(404, 'Not Found');
  return value;
};

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** GitHub pagination: per_page (max 100, default 30), page, and a Link header. */
function paginate<T>(ctx: Context, items: T[]): T[] {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(ctx.query.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  if (last > 1) {
    const link = (target: number, rel: string) => `<?page=${target}&per_page=${perPage}>; rel="${rel}"`;
    const links: string[] = [];
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    if (links.length > 0) ctx.setHeader('link', links.join(', '));
  }
  return items.slice((page - 1) * perPage, page * perPage);
}

/** Base64 with a newline every 60 characters, as GitHub returns file and blob content. */
const wrappedBase64 = (bytes: Uint8Array): string => {
  const flat = Buffer.from(bytes).toString('base64');
  return flat.length === 0 ? '' : `${flat.match(/.{1,60}/g)?.join('\n')}\n`;
};

const fullRef = (ref: string): string => (ref.startsWith('refs/') ? ref : `refs/${ref}`);

// -------------------------------------------------------------------------------------------------
// users and repositories
// -------------------------------------------------------------------------------------------------
route('GET', '/user', (ctx) => {
  if (!ctx.actor) throw new ForgeError(401, 'Requires authentication');
  return { status: 200, body: fullUserJson(ctx.forge.urls, ctx.actor) };
});

route('GET', '/users/:username', (ctx) => {
  const user = ctx.forge.users.get(ctx.params.username as string);
  if (!user) throw new ForgeError(404, 'Not Found');
  return { status: 200, body: fullUserJson(ctx.forge.urls, user) };
});

// The full repository: the summary plus the counts only this endpoint returns.
route('GET', '/repos/:owner/:repo', (ctx) => ({
  status: 200,
  body: { ...ctx.forge.repos.json(repoOf(ctx), ctx.actor), network_count: 0, subscribers_count: 0 },
}));

route('GET', '/repos/:owner/:repo/installation', (ctx) => {
  const repo = repoOf(ctx);
  const owner = ctx.forge.users.get(repo.owner);
  return {
    status: 200,
    body: {
      id: 1,
      app_id: 1,
      app_slug: 'code-factory',
      target_type: 'Organization',
      account: owner ? userJson(ctx.forge.urls, owner) : null,
    },
  };
});

route('GET', '/repos/:owner/:repo/collaborators/:username/permission', (ctx) => {
  const repo = repoOf(ctx);
  const user = ctx.forge.users.get(ctx.params.username as string);
  if (!user) throw new ForgeError(404, 'Not Found');
  return {
    status: 200,
    body: permissionJson(ctx.forge.urls, user, ctx.forge.repos.roleOf(repo, user.login)),
  };
});

route('GET', '/repos/:owner/:repo/branches/:branch', async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await ctx.forge.repos.git(repo).resolveRef(`refs/heads/${ctx.params.branch}`);
  if (!sha) throw new ForgeError(404, 'Branch not found');
  const commit = await ctx.forge.gitData.readCommit(repo, sha);
  return {
    status: 200,
    body: {
      name: ctx.params.branch,
      commit: {
        sha,
        url: `${repoApiUrl(ctx.forge.urls, repo)}/commits/${sha}`,
        commit: gitCommitJson(ctx.forge.urls, repo, commit),
      },
      protected: false,
    },
  };
});

// -------------------------------------------------------------------------------------------------
// contents
// -------------------------------------------------------------------------------------------------
const contents: Handler = async (ctx) => {
  const repo = repoOf(ctx);
  const filePath = (ctx.params.path ?? '').replace(/^\/+|\/+$/g, '');
  const ref = ctx.query.get('ref') ?? undefined;
  const commit = await ctx.forge.repos.resolveCommitish(repo, ref);
  if (!commit) throw new ForgeError(404, `No commit found for the ref ${ref ?? repo.defaultBranch}`);
  const git = ctx.forge.repos.git(repo);
  const entry = await git.entryAt(commit, filePath);
  if (!entry) throw new ForgeError(404, 'Not Found');
  const api = repoApiUrl(ctx.forge.urls, repo);
  const web = repoWebUrl(ctx.forge.urls, repo);
  const refName = ref ?? repo.defaultBranch;
  const describe = async (item: { path: string; sha: string; type: string; mode: string }) => {
    const type =
      item.type === 'tree'
        ? 'dir'
        : item.type === 'commit'
          ? 'submodule'
          : item.mode === '120000'
            ? 'symlink'
            : 'file';
    const size = item.type === 'blob' ? ((await git.readBlob(item.sha))?.length ?? 0) : 0;
    const url = `${api}/contents/${item.path}?ref=${encodeURIComponent(refName)}`;
    const gitUrl = `${api}/git/${item.type === 'tree' ? 'trees' : 'blobs'}/${item.sha}`;
    const htmlUrl = `${web}/${type === 'dir' ? 'tree' : 'blob'}/${refName}/${item.path}`;
    return {
      type,
      name: item.path.split('/').pop() ?? item.path,
      path: item.path,
      sha: item.sha,
      size,
      url,
      html_url: htmlUrl,
      git_url: gitUrl,
      download_url: type === 'file' ? `${web}/raw/${refName}/${item.path}` : null,
      _links: { self: url, git: gitUrl, html: htmlUrl },
    };
  };
  if (entry.type === 'tree') {
    const children = await git.readTree(entry.sha);
    const listing = [];
    for (const child of children)
      listing.push(await describe({ ...child, path: filePath ? `${filePath}/${child.path}` : child.path }));
    return { status: 200, body: listing };
  }
  const base = await describe(entry);
  if (entry.type !== 'blob') return { status: 200, body: base };
  const blob = (await git.readBlob(entry.sha)) ?? new Uint8Array();
  const tooLarge = blob.length > 1024 * 1024;
  return {
    status: 200,
    body: { ...base, content: tooLarge ? '' : wrappedBase64(blob), encoding: tooLarge ? 'none' : 'base64' },
  };
};
route('GET', '/repos/:owner/:repo/contents', contents);
route('GET', '/repos/:owner/:repo/contents/*path', contents);

// -------------------------------------------------------------------------------------------------
// git data
// -------------------------------------------------------------------------------------------------
route('POST', '/repos/:owner/:repo/git/blobs', async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await ctx.forge.gitData.createBlob(
    ctx.actor,
    repo,
    ctx.body.content as string,
    str(ctx.body.encoding) ?? 'utf-8',
  );
  return { status: 201, body: { sha, url: `${repoApiUrl(ctx.forge.urls, repo)}/git/blobs/${sha}` } };
});

route('GET', '/repos/:owner/:repo/git/blobs/:sha', async (ctx) => {
  const repo = repoOf(ctx);
  const sha = ctx.params.sha as string;
  const blob = await ctx.forge.repos.git(repo).readBlob(sha);
  if (!blob) throw new ForgeError(404, 'Not Found');
  return {
    status: 200,
    body: {
      sha,
      node_id: Buffer.from(`Blob:${sha}`).toString('base64'),
      size: blob.length,
      url: `${repoApiUrl(ctx.forge.urls, repo)}/git/blobs/${sha}`,
      content: wrappedBase64(blob),
      encoding: 'base64',
    },
  };
});

async function treeBody(ctx: Context, repo: RepoRecord, treeSha: string, recursive: boolean) {
  const git = ctx.forge.repos.git(repo);
  const api = repoApiUrl(ctx.forge.urls, repo);
  const { entries, truncated } = recursive
    ? await git.readTreeRecursive(treeSha)
    : { entries: await git.readTree(treeSha), truncated: false };
  const tree = [];
  for (const entry of entries) {
    const size = entry.type === 'blob' ? ((await git.readBlob(entry.sha))?.length ?? 0) : undefined;
    tree.push({
      path: entry.path,
      mode: entry.mode,
      type: entry.type,
      sha: entry.sha,
      ...(size !== undefined ? { size } : {}),
      url: `${api}/git/${entry.type === 'tree' ? 'trees' : 'blobs'}/${entry.sha}`,
    });
  }
  return { sha: treeSha, url: `${api}/git/trees/${treeSha}`, tree, truncated };
}

// GitHub answers with a redirect to codeload (local/forge/tarball.ts); an unknown ref is a 404.
const tarball: Handler = async (ctx) => {
  if (!ctx.actor) throw new ForgeError(404, 'Not Found');
  const repo = repoOf(ctx);
  const sha = await ctx.forge.repos.resolveCommitish(repo, ctx.params.ref);
  if (!sha) throw new ForgeError(404, 'Not Found');
  ctx.setHeader('location', codeloadLocation(ctx.forge, repo, sha));
  return { status: 302 };
};
route('GET', '/repos/:owner/:repo/tarball', tarball);

// A workflow job's logs (a job's id is its check run's): a redirect to a plain text file, or 404
// while the job has none (still running, or not a job of this forge's Actions).
route('GET', '/repos/:owner/:repo/actions/jobs/:job_id/logs', (ctx) => {
  if (!ctx.actor) throw new ForgeError(404, 'Not Found');
  const repo = repoOf(ctx);
  const jobId = numberParam(ctx, 'job_id');
  if (!repo.checkRuns.find((run) => run.id === jobId)?.log) throw new ForgeError(404, 'Not Found');
  ctx.setHeader('location', jobLogsLocation(ctx.forge, repo, jobId));
  return { status: 302 };
});
route('GET', '/repos/:owner/:repo/tarball/*ref', tarball);

route('GET', '/repos/:owner/:repo/git/trees/*sha', async (ctx) => {
  const repo = repoOf(ctx);
  const commitish = await ctx.forge.repos.resolveCommitish(repo, ctx.params.sha as string);
  const tree = commitish ? await ctx.forge.repos.git(repo).treeOf(commitish) : undefined;
  if (!tree) throw new ForgeError(404, 'Not Found');
  const recursive = ['1', 'true'].includes(ctx.query.get('recursive') ?? '');
  return { status: 200, body: await treeBody(ctx, repo, tree, recursive) };
});

route('POST', '/repos/:owner/:repo/git/trees', async (ctx) => {
  const repo = repoOf(ctx);
  const entries = ctx.body.tree;
  if (!Array.isArray(entries))
    throw new ForgeError(422, 'Invalid request.', [{ field: 'tree', code: 'missing_field' }]);
  const changes: TreeChange[] = entries.map((raw) => {
    const entry = raw as Record<string, unknown>;
    const change: TreeChange = {
      path: str(entry.path) ?? '',
      mode: (str(entry.mode) ?? '100644') as TreeChange['mode'],
      type: (str(entry.type) ?? 'blob') as TreeChange['type'],
    };
    if (entry.sha === null) change.sha = null;
    else if (typeof entry.sha === 'string') change.sha = entry.sha;
    if (typeof entry.content === 'string') change.content = entry.content;
    return change;
  });
  const sha = await ctx.forge.gitData.createTree(ctx.actor, repo, str(ctx.body.base_tree), changes);
  return { status: 201, body: await treeBody(ctx, repo, sha, false) };
});

route('POST', '/repos/:owner/:repo/git/commits', async (ctx) => {
  const repo = repoOf(ctx);
  const parents = Array.isArray(ctx.body.parents)
    ? ctx.body.parents.filter((parent): parent is string => typeof parent === 'string')
    : [];
  const sha = await ctx.forge.gitData.createCommit(ctx.actor, repo, {
    message: ctx.body.message as string,
    tree: ctx.body.tree as string,
    parents,
    ...(ctx.body.author ? { author: ctx.body.author as { name: string; email: string; date: string } } : {}),
    ...(ctx.body.committer
      ? { committer: ctx.body.committer as { name: string; email: string; date: string } }
      : {}),
  });
  return {
    status: 201,
    body: gitCommitJson(ctx.forge.urls, repo, await ctx.forge.gitData.readCommit(repo, sha)),
  };
});

route('GET', '/repos/:owner/:repo/git/commits/:sha', async (ctx) => {
  const repo = repoOf(ctx);
  return {
    status: 200,
    body: gitCommitJson(
      ctx.forge.urls,
      repo,
      await ctx.forge.gitData.readCommit(repo, ctx.params.sha as string),
    ),
  };
});

route('GET', '/repos/:owner/:repo/git/ref/*ref', async (ctx) => {
  const repo = repoOf(ctx);
  const ref = fullRef(ctx.params.ref as string);
  const sha = await ctx.forge.repos.git(repo).resolveRef(ref);
  if (!sha || !/^refs\/(heads|tags)\//.test(ref)) throw new ForgeError(404, 'Not Found');
  return { status: 200, body: refJson(ctx.forge.urls, repo, ref, sha) };
});

const matchingRefs = async (ctx: Context, prefix: string) => {
  const repo = repoOf(ctx);
  const refs = await ctx.forge.repos.git(repo).listRefs();
  return refs
    .filter((ref) => ref.ref.startsWith(prefix))
    .map((ref) => refJson(ctx.forge.urls, repo, ref.ref, ref.sha));
};

route('GET', '/repos/:owner/:repo/git/matching-refs/*ref', async (ctx) => ({
  status: 200,
  body: paginate(ctx, await matchingRefs(ctx, fullRef(ctx.params.ref as string))),
}));

route('GET', '/repos/:owner/:repo/git/refs', async (ctx) => ({
  status: 200,
  body: paginate(ctx, await matchingRefs(ctx, 'refs/')),
}));

/** The legacy form: one ref when the name is exact, else every ref under it as an array. */
route('GET', '/repos/:owner/:repo/git/refs/*ref', async (ctx) => {
  const repo = repoOf(ctx);
  const ref = fullRef(ctx.params.ref as string);
  const sha = await ctx.forge.repos.git(repo).resolveRef(ref);
  if (sha) return { status: 200, body: refJson(ctx.forge.urls, repo, ref, sha) };
  const matches = await matchingRefs(ctx, `${ref}/`);
  if (matches.length === 0) throw new ForgeError(404, 'Not Found');
  return { status: 200, body: matches };
});

route('POST', '/repos/:owner/:repo/git/refs', async (ctx) => {
  const repo = repoOf(ctx);
  const ref = str(ctx.body.ref) ?? '';
  const sha = str(ctx.body.sha) ?? '';
  await ctx.forge.gitData.createRef(ctx.actor, repo, ref, sha);
  return { status: 201, body: refJson(ctx.forge.urls, repo, ref, sha) };
});

route('PATCH', '/repos/:owner/:repo/git/refs/*ref', async (ctx) => {
  const repo = repoOf(ctx);
  const ref = fullRef(ctx.params.ref as string);
  const sha = str(ctx.body.sha) ?? '';
  await ctx.forge.gitData.updateRef(ctx.actor, repo, ref, sha, ctx.body.force === true);
  return { status: 200, body: refJson(ctx.forge.urls, repo, ref, sha) };
});

route('DELETE', '/repos/:owner/:repo/git/refs/*ref', async (ctx) => {
  await ctx.forge.gitData.deleteRef(ctx.actor, repoOf(ctx), fullRef(ctx.params.ref as string));
  return { status: 204 };
});

// -------------------------------------------------------------------------------------------------
// commits and checks
// -------------------------------------------------------------------------------------------------
const commitOf = async (ctx: Context, repo: RepoRecord): Promise<string> => {
  const sha = await ctx.forge.repos.resolveCommitish(repo, ctx.params.ref as string);
  if (!sha) throw new ForgeError(422, `No commit found for SHA: ${ctx.params.ref}`);
  return sha;
};

route('GET', '/repos/:owner/:repo/commits/:ref', async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await commitOf(ctx, repo);
  const commit = await ctx.forge.gitData.readCommit(repo, sha);
  const gitJson = gitCommitJson(ctx.forge.urls, repo, commit);
  const api = repoApiUrl(ctx.forge.urls, repo);
  const files = await diffFiles(ctx, repo, commit.parents[0], commit.tree);
  const author = findUserByEmail(ctx, commit.author.email);
  const committer = findUserByEmail(ctx, commit.committer.email);
  return {
    status: 200,
    body: {
      sha,
      node_id: gitJson.node_id,
      commit: {
        author: gitJson.author,
        committer: gitJson.committer,
        message: gitJson.message,
        tree: gitJson.tree,
        url: gitJson.url,
        comment_count: 0,
        verification: gitJson.verification,
      },
      url: `${api}/commits/${sha}`,
      html_url: gitJson.html_url,
      comments_url: `${api}/commits/${sha}/comments`,
      author: author ? userJson(ctx.forge.urls, author) : null,
      committer: committer ? userJson(ctx.forge.urls, committer) : null,
      parents: gitJson.parents,
      stats: { total: 0, additions: 0, deletions: 0 },
      files,
    },
  };
});

function findUserByEmail(ctx: Context, email: string): UserRecord | undefined {
  const match = /^(\d+)\+(.+)@users\.noreply\.forge\.local$/.exec(email);
  if (match?.[2]) return ctx.forge.users.get(match[2]);
  for (const login of Object.keys(ctx.forge.users.tokens())) {
    const user = ctx.forge.users.get(login);
    if (user?.email === email) return user;
  }
  return undefined;
}

async function diffFiles(ctx: Context, repo: RepoRecord, parent: string | undefined, tree: string) {
  const git = ctx.forge.repos.git(repo);
  const list = async (sha: string | undefined) => {
    if (!sha) return new Map<string, string>();
    const treeSha = await git.treeOf(sha);
    if (!treeSha) return new Map<string, string>();
    const { entries } = await git.readTreeRecursive(treeSha);
    return new Map(entries.filter((entry) => entry.type !== 'tree').map((entry) => [entry.path, entry.sha]));
  };
  const [before, after] = await Promise.all([list(parent), list(tree)]);
  const files: Array<{
    sha: string | null;
    filename: string;
    status: string;
    additions: number;
    deletions: number;
    changes: number;
  }> = [];
  for (const [file, sha] of after) {
    const old = before.get(file);
    if (old === sha) continue;
    files.push({
      sha,
      filename: file,
      status: old ? 'modified' : 'added',
      additions: 0,
      deletions: 0,
      changes: 0,
    });
  }
  for (const [file] of before)
    if (!after.has(file))
      files.push({ sha: null, filename: file, status: 'removed', additions: 0, deletions: 0, changes: 0 });
  return files.sort((a, b) => (a.filename < b.filename ? -1 : 1));
}

route('GET', '/repos/:owner/:repo/commits/:ref/check-suites', async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await commitOf(ctx, repo);
  const suites = repo.checkSuites.filter((suite) => suite.headSha === sha);
  return {
    status: 200,
    body: {
      total_count: suites.length,
      check_suites: paginate(ctx, suites).map((suite) => ctx.forge.checks.suiteJson(repo, suite)),
    },
  };
});

route('GET', '/repos/:owner/:repo/commits/:ref/check-runs', async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await commitOf(ctx, repo);
  const status = ctx.query.get('status');
  const name = ctx.query.get('check_name');
  const runs = repo.checkRuns.filter(
    (run) => run.headSha === sha && (!status || run.status === status) && (!name || run.name === name),
  );
  return {
    status: 200,
    body: {
      total_count: runs.length,
      check_runs: paginate(ctx, runs).map((run) => ctx.forge.checks.runJson(repo, run)),
    },
  };
});

route('GET', '/repos/:owner/:repo/commits/:ref/status', async (ctx) => {
  const repo = repoOf(ctx);
  const sha = await commitOf(ctx, repo);
  return { status: 200, body: ctx.forge.statuses.combined(repo, sha) };
});

route('POST', '/repos/:owner/:repo/statuses/:sha', async (ctx) => ({
  status: 201,
  body: await ctx.forge.statuses.create(ctx.actor, repoOf(ctx), ctx.params.sha as string, ctx.body),
}));

route('GET', '/repos/:owner/:repo/check-runs/:id', (ctx) => {
  const repo = repoOf(ctx);
  const run = repo.checkRuns.find((candidate) => candidate.id === Number(ctx.params.id));
  if (!run) throw new ForgeError(404, 'Not Found');
  return { status: 200, body: ctx.forge.checks.runJson(repo, run) };
});

route('GET', '/repos/:owner/:repo/check-runs/:id/annotations', (ctx) => {
  const repo = repoOf(ctx);
  const run = repo.checkRuns.find((candidate) => candidate.id === Number(ctx.params.id));
  if (!run) throw new ForgeError(404, 'Not Found');
  return {
    status: 200,
    body: paginate(ctx, run.annotations ?? []).map((a) => annotationJson(ctx.forge.urls, repo, run, a)),
  };
});

route('GET', '/repos/:owner/:repo/check-suites/:id', (ctx) => {
  const repo = repoOf(ctx);
  const suite = repo.checkSuites.find((candidate) => candidate.id === Number(ctx.params.id));
  if (!suite) throw new ForgeError(404, 'Not Found');
  return { status: 200, body: ctx.forge.checks.suiteJson(repo, suite) };
});

route('GET', '/repos/:owner/:repo/check-suites/:id/check-runs', (ctx) => {
  const repo = repoOf(ctx);
  const runs = repo.checkRuns.filter((run) => run.suiteId === Number(ctx.params.id));
  return {
    status: 200,
    body: {
      total_count: runs.length,
      check_runs: paginate(ctx, runs).map((run) => ctx.forge.checks.runJson(repo, run)),
    },
  };
});

// -------------------------------------------------------------------------------------------------
// issues, comments, labels
// -------------------------------------------------------------------------------------------------
route('GET', '/repos/:owner/:repo/issues/comments/:id', (ctx) => {
  const repo = repoOf(ctx);
  return {
    status: 200,
    body: ctx.forge.comments.json(repo, ctx.forge.comments.get(repo, numberParam(ctx, 'id'))),
  };
});

route('PATCH', '/repos/:owner/:repo/issues/comments/:id', async (ctx) => {
  const repo = repoOf(ctx);
  const comment = await ctx.forge.comments.update(
    ctx.actor,
    repo,
    numberParam(ctx, 'id'),
    ctx.body.body as string,
  );
  return { status: 200, body: ctx.forge.comments.json(repo, comment) };
});

route('GET', '/repos/:owner/:repo/issues', (ctx) => {
  const repo = repoOf(ctx);
  const state = ctx.query.get('state') ?? 'open';
  const labels = (ctx.query.get('labels') ?? '').split(',').filter((label) => label.length > 0);
  const issues = repo.issues
    .filter(
      (issue) =>
        (state === 'all' || issue.state === state) && labels.every((label) => issue.labels.includes(label)),
    )
    .sort((a, b) => b.number - a.number);
  return { status: 200, body: paginate(ctx, issues).map((issue) => ctx.forge.issues.json(repo, issue)) };
});

route('POST', '/repos/:owner/:repo/issues', async (ctx) => {
  const repo = repoOf(ctx);
  const labels = Array.isArray(ctx.body.labels)
    ? ctx.body.labels.map((label) =>
        typeof label === 'string' ? label : (str((label as { name?: unknown }).name) ?? ''),
      )
    : [];
  const issue = await ctx.forge.issues.create(ctx.actor, repo, {
    title: ctx.body.title as string,
    body: str(ctx.body.body) ?? null,
    labels,
  });
  return { status: 201, body: ctx.forge.issues.json(repo, issue) };
});

route('GET', '/repos/:owner/:repo/issues/:number', (ctx) => {
  const repo = repoOf(ctx);
  return {
    status: 200,
    body: ctx.forge.issues.json(repo, ctx.forge.issues.get(repo, numberParam(ctx, 'number'))),
  };
});

route('PATCH', '/repos/:owner/:repo/issues/:number', async (ctx) => {
  const repo = repoOf(ctx);
  const issue = await ctx.forge.issues.update(ctx.actor, repo, numberParam(ctx, 'number'), {
    ...(typeof ctx.body.title === 'string' ? { title: ctx.body.title } : {}),
    ...('body' in ctx.body ? { body: str(ctx.body.body) ?? null } : {}),
    ...(typeof ctx.body.state === 'string' ? { state: ctx.body.state } : {}),
    ...(typeof ctx.body.state_reason === 'string' ? { state_reason: ctx.body.state_reason } : {}),
    ...(Array.isArray(ctx.body.labels)
      ? { labels: ctx.body.labels.filter((label): label is string => typeof label === 'string') }
      : {}),
  });
  return { status: 200, body: ctx.forge.issues.json(repo, issue) };
});

route('GET', '/repos/:owner/:repo/issues/:number/comments', (ctx) => {
  const repo = repoOf(ctx);
  const number = numberParam(ctx, 'number');
  ctx.forge.issues.get(repo, number);
  const comments = repo.comments.filter((comment) => comment.issueNumber === number);
  return {
    status: 200,
    body: paginate(ctx, comments).map((comment) => ctx.forge.comments.json(repo, comment)),
  };
});

route('POST', '/repos/:owner/:repo/issues/:number/comments', async (ctx) => {
  const repo = repoOf(ctx);
  const comment = await ctx.forge.comments.create(
    ctx.actor,
    repo,
    numberParam(ctx, 'number'),
    ctx.body.body as string,
  );
  return { status: 201, body: ctx.forge.comments.json(repo, comment) };
});

const labelNames = (ctx: Context): string[] => {
  const raw = Array.isArray(ctx.rawBody)
    ? ctx.rawBody
    : Array.isArray(ctx.body.labels)
      ? ctx.body.labels
      : [];
  return raw
    .map((label) => (typeof label === 'string' ? label : (str((label as { name?: unknown }).name) ?? '')))
    .filter((name) => name.length > 0);
};

route('GET', '/repos/:owner/:repo/issues/:number/labels', (ctx) => {
  const repo = repoOf(ctx);
  const issue = ctx.forge.issues.get(repo, numberParam(ctx, 'number'));
  return {
    status: 200,
    body: issue.labels.map((name) => ctx.forge.labels.json(repo, ctx.forge.labels.of(repo, name))),
  };
});

route('POST', '/repos/:owner/:repo/issues/:number/labels', async (ctx) => {
  const repo = repoOf(ctx);
  const labels = await ctx.forge.labels.add(ctx.actor, repo, numberParam(ctx, 'number'), labelNames(ctx));
  return { status: 200, body: labels.map((label) => ctx.forge.labels.json(repo, label)) };
});

route('PUT', '/repos/:owner/:repo/issues/:number/labels', async (ctx) => {
  const repo = repoOf(ctx);
  const number = numberParam(ctx, 'number');
  const issue = await ctx.forge.issues.update(ctx.actor, repo, number, { labels: labelNames(ctx) });
  return {
    status: 200,
    body: issue.labels.map((name) => ctx.forge.labels.json(repo, ctx.forge.labels.of(repo, name))),
  };
});

route('DELETE', '/repos/:owner/:repo/issues/:number/labels/:name', async (ctx) => {
  const repo = repoOf(ctx);
  const labels = await ctx.forge.labels.remove(
    ctx.actor,
    repo,
    numberParam(ctx, 'number'),
    ctx.params.name as string,
  );
  return { status: 200, body: labels.map((label) => ctx.forge.labels.json(repo, label)) };
});

route('GET', '/repos/:owner/:repo/labels', (ctx) => {
  const repo = repoOf(ctx);
  return { status: 200, body: paginate(ctx, repo.labels).map((label) => ctx.forge.labels.json(repo, label)) };
});

// -------------------------------------------------------------------------------------------------
// pull requests
// -------------------------------------------------------------------------------------------------
route('GET', '/repos/:owner/:repo/pulls', (ctx) => {
  const repo = repoOf(ctx);
  const pulls = ctx.forge.pullViews.list(repo, {
    state: ctx.query.get('state') ?? 'open',
    ...(ctx.query.get('head') ? { head: ctx.query.get('head') as string } : {}),
    ...(ctx.query.get('base') ? { base: ctx.query.get('base') as string } : {}),
  });
  return {
    status: 200,
    body: paginate(ctx, pulls).map((pull) => ctx.forge.pullViews.summaryJson(repo, pull.number)),
  };
});

route('POST', '/repos/:owner/:repo/pulls', async (ctx) => {
  const repo = repoOf(ctx);
  const pull = await ctx.forge.pulls.create(ctx.actor, repo, {
    ...(typeof ctx.body.title === 'string' ? { title: ctx.body.title } : {}),
    ...(typeof ctx.body.body === 'string' ? { body: ctx.body.body } : {}),
    ...(typeof ctx.body.head === 'string' ? { head: ctx.body.head } : {}),
    ...(typeof ctx.body.base === 'string' ? { base: ctx.body.base } : {}),
    ...(typeof ctx.body.draft === 'boolean' ? { draft: ctx.body.draft } : {}),
    ...(typeof ctx.body.maintainer_can_modify === 'boolean'
      ? { maintainer_can_modify: ctx.body.maintainer_can_modify }
      : {}),
  });
  return { status: 201, body: await ctx.forge.pullViews.json(repo, pull.number) };
});

route('GET', '/repos/:owner/:repo/pulls/:number', async (ctx) => {
  const repo = repoOf(ctx);
  return { status: 200, body: await ctx.forge.pullViews.json(repo, numberParam(ctx, 'number')) };
});

route('PATCH', '/repos/:owner/:repo/pulls/:number', async (ctx) => {
  const repo = repoOf(ctx);
  const number = numberParam(ctx, 'number');
  await ctx.forge.pulls.update(ctx.actor, repo, number, {
    ...(typeof ctx.body.title === 'string' ? { title: ctx.body.title } : {}),
    ...('body' in ctx.body ? { body: str(ctx.body.body) ?? null } : {}),
    ...(typeof ctx.body.state === 'string' ? { state: ctx.body.state } : {}),
    ...(typeof ctx.body.base === 'string' ? { base: ctx.body.base } : {}),
    ...(typeof ctx.body.draft === 'boolean' ? { draft: ctx.body.draft } : {}),
  });
  return { status: 200, body: await ctx.forge.pullViews.json(repo, number) };
});

route('GET', '/repos/:owner/:repo/pulls/:number/merge', (ctx) => {
  const repo = repoOf(ctx);
  const pull = ctx.forge.pullViews.get(repo, numberParam(ctx, 'number'));
  if (!pull.merged) throw new ForgeError(404, 'Not Found');
  return { status: 204 };
});

route('PUT', '/repos/:owner/:repo/pulls/:number/merge', async (ctx) => {
  const repo = repoOf(ctx);
  const result = await ctx.forge.merges.merge(ctx.actor, repo, numberParam(ctx, 'number'), {
    ...(typeof ctx.body.sha === 'string' ? { sha: ctx.body.sha } : {}),
    ...(typeof ctx.body.merge_method === 'string' ? { merge_method: ctx.body.merge_method } : {}),
    ...(typeof ctx.body.commit_title === 'string' ? { commit_title: ctx.body.commit_title } : {}),
    ...(typeof ctx.body.commit_message === 'string' ? { commit_message: ctx.body.commit_message } : {}),
  });
  return { status: 200, body: result };
});

route('GET', '/repos/:owner/:repo/pulls/:number/commits', async (ctx) => {
  const repo = repoOf(ctx);
  const pull = ctx.forge.pullViews.get(repo, numberParam(ctx, 'number'));
  const commits = (await ctx.forge.repos.git(repo).commitsBetween([pull.baseSha], [pull.headSha])).reverse();
  return {
    status: 200,
    body: paginate(ctx, commits).map((commit) => {
      const json = gitCommitJson(ctx.forge.urls, repo, commit);
      return {
        sha: commit.sha,
        node_id: json.node_id,
        commit: { ...json, sha: undefined },
        url: `${repoApiUrl(ctx.forge.urls, repo)}/commits/${commit.sha}`,
        html_url: json.html_url,
        parents: json.parents,
      };
    }),
  };
});

route('GET', '/repos/:owner/:repo/pulls/:number/reviews', (ctx) => {
  const repo = repoOf(ctx);
  const number = numberParam(ctx, 'number');
  ctx.forge.pullViews.get(repo, number);
  return {
    status: 200,
    body: paginate(
      ctx,
      repo.reviews.filter((review) => review.pullNumber === number),
    ).map((review) => ctx.forge.reviews.json(repo, review)),
  };
});

route('POST', '/repos/:owner/:repo/pulls/:number/reviews', async (ctx) => {
  const repo = repoOf(ctx);
  const review = await ctx.forge.reviews.create(ctx.actor, repo, numberParam(ctx, 'number'), {
    ...(typeof ctx.body.body === 'string' ? { body: ctx.body.body } : {}),
    ...(typeof ctx.body.event === 'string' ? { event: ctx.body.event } : {}),
    ...(typeof ctx.body.commit_id === 'string' ? { commit_id: ctx.body.commit_id } : {}),
    ...(Array.isArray(ctx.body.comments) ? { comments: ctx.body.comments as ReviewCommentInput[] } : {}),
  });
  return { status: 200, body: ctx.forge.reviews.json(repo, review) };
});

route('GET', '/repos/:owner/:repo/pulls/:number/reviews/:review_id/comments', async (ctx) => {
  const repo = repoOf(ctx);
  const number = numberParam(ctx, 'number');
  const reviewId = numberParam(ctx, 'review_id');
  const pull = ctx.forge.pullViews.get(repo, number);
  if (!repo.reviews.some((review) => review.pullNumber === number && review.id === reviewId))
    throw new ForgeError(404, 'Not Found');
  // This endpoint's comments also carry `position`: the line's index in the file's patch, counted
  // from its first @@ header (null once the line left the diff, as on GitHub).
  const { files } = await pullDiff(ctx.forge.repos.git(repo), pull);
  const positionOf = (path: string, hunk: string): number | null => {
    const patch = files.find((f) => f.filename === path)?.patch?.split('\n') ?? [];
    const hunkLines = hunk.split('\n');
    const start = patch.indexOf(hunkLines[0] ?? '');
    return start < 0 ? null : start + hunkLines.length - 1;
  };
  return {
    status: 200,
    body: paginate(
      ctx,
      (repo.reviewComments ?? []).filter(
        (comment) => comment.pullNumber === number && comment.reviewId === reviewId,
      ),
    ).map((comment) => {
      const position = positionOf(comment.path, comment.diffHunk);
      return {
        ...ctx.forge.reviews.commentJson(repo, comment),
        position,
        original_position: position ?? comment.diffHunk.split('\n').length - 1,
      };
    }),
  };
});

route('GET', '/repos/:owner/:repo/pulls/:number/comments', (ctx) => {
  const repo = repoOf(ctx);
  const number = numberParam(ctx, 'number');
  ctx.forge.pullViews.get(repo, number);
  return {
    status: 200,
    body: paginate(
      ctx,
      (repo.reviewComments ?? []).filter((comment) => comment.pullNumber === number),
    ).map((comment) => ctx.forge.reviews.commentJson(repo, comment)),
  };
});

// The pull request's files against the merge base, with GitHub's patch text (at most 3000 files).
route('GET', '/repos/:owner/:repo/pulls/:number/files', async (ctx) => {
  const repo = repoOf(ctx);
  const pull = ctx.forge.pullViews.get(repo, numberParam(ctx, 'number'));
  const { files } = await pullDiff(ctx.forge.repos.git(repo), pull);
  const web = repoWebUrl(ctx.forge.urls, repo);
  const api = repoApiUrl(ctx.forge.urls, repo);
  return {
    status: 200,
    body: paginate(ctx, files.slice(0, 3000)).map((file) => ({
      sha: file.sha,
      filename: file.filename,
      status: file.status,
      additions: file.additions,
      deletions: file.deletions,
      changes: file.additions + file.deletions,
      blob_url: `${web}/blob/${pull.headSha}/${file.filename}`,
      raw_url: `${web}/raw/${pull.headSha}/${file.filename}`,
      contents_url: `${api}/contents/${file.filename}?ref=${pull.headSha}`,
      ...(file.patch === undefined ? {} : { patch: file.patch }),
    })),
  };
});

// -------------------------------------------------------------------------------------------------
// GraphQL: only the mutations REST lacks (a pull request's draft state, both ways)
// -------------------------------------------------------------------------------------------------
const DRAFT_MUTATIONS = ['markPullRequestReadyForReview', 'convertPullRequestToDraft'] as const;
route('POST', '/graphql', async (ctx) => {
  if (!ctx.actor) throw new ForgeError(401, 'This endpoint requires you to be authenticated.');
  const query = str(ctx.body.query) ?? '';
  const variables = (ctx.body.variables ?? {}) as Record<string, unknown>;
  const mutation = DRAFT_MUTATIONS.find((name) => new RegExp(`\\b${name}\\b`).test(query));
  if (!mutation) {
    return {
      status: 200,
      body: {
        data: null,
        errors: [{ message: `The local forge only answers ${DRAFT_MUTATIONS.join(' and ')}` }],
      },
    };
  }
  const id = str(variables.id) ?? /pullRequestId:\s*"([^"]+)"/.exec(query)?.[1];
  const found = id ? ctx.forge.pullViews.byNodeId(id) : undefined;
  if (!found) {
    return {
      status: 200,
      body: {
        data: null,
        errors: [{ type: 'NOT_FOUND', message: `Could not resolve to a node with the global id of '${id}'` }],
      },
    };
  }
  if (mutation === 'markPullRequestReadyForReview')
    await ctx.forge.pulls.markReadyForReview(ctx.actor, found.repo, found.pull.number);
  else await ctx.forge.pulls.convertToDraft(ctx.actor, found.repo, found.pull.number);
  return {
    status: 200,
    body: { data: { [mutation]: { pullRequest: { isDraft: found.pull.draft } } } },
  };
});
