import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { foldChecks, OctokitGitHub, parseGitHubCredentials } from '../../../functions/shared/adapters/github';

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: unknown;
}
type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
type Route = (request: Seen) => Reply | undefined;

/** A fetch stand-in: answers by method + path, records every request. */
function stubFetch(routes: Record<string, Reply | Reply[] | Route>) {
  const seen: Seen[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers = new Headers(init?.headers);
    const request: Seen = {
      method: init?.method ?? 'GET',
      path: url.pathname + url.search,
      auth: headers.get('authorization') ?? undefined,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    seen.push(request);
    // Octokit URL-encodes path parameters (`src%2Findex.js`), as the embedded forge must expect.
    const key = `${request.method} ${decodeURIComponent(url.pathname)}`;
    const route = routes[key];
    let reply: Reply | undefined;
    if (typeof route === 'function') reply = route(request);
    else if (Array.isArray(route)) reply = route.shift();
    else reply = route;
    reply ??= { status: 404, body: { message: 'Not Found' } };
    return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
      status: reply.status,
      headers: { 'content-type': 'application/json', ...(reply.headers ?? {}) },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, seen };
}

const repo = { owner: 'acme', repo: 'widgets' };
const baseUrl = 'http://forge.test/api/v3';

function tokenClient(routes: Parameters<typeof stubFetch>[0], extra: Record<string, unknown> = {}) {
  const stub = stubFetch(routes);
  const github = new OctokitGitHub({
    baseUrl,
    credentials: { kind: 'token', token: 'ghp_test' },
    fetch: stub.fetch,
    pacing: { writeIntervalMs: 0, notificationIntervalMs: 0 },
    retryBaseMs: 1,
    ...extra,
  });
  return { github, seen: stub.seen };
}

describe('parseGitHubCredentials', () => {
  it('reads bare tokens, token JSON and app JSON', () => {
    expect(parseGitHubCredentials(' ghp_abc \n')).toEqual({ kind: 'token', token: 'ghp_abc' });
    expect(parseGitHubCredentials('{"token":"t"}')).toEqual({ kind: 'token', token: 't' });
    expect(parseGitHubCredentials('{"appId":12,"privateKey":"-----BEGIN\\nX"}')).toEqual({
      kind: 'app',
      appId: '12',
      privateKey: '-----BEGIN\nX',
    });
    expect(() => parseGitHubCredentials('{"nope":1}')).toThrow(/token or an appId/);
    expect(() => parseGitHubCredentials('')).toThrow(/empty/);
  });
});

describe('OctokitGitHub (token mode)', () => {
  it('maps permissions (role_name first, 404 → none) and sends the token to baseUrl', async () => {
    const { github, seen } = tokenClient({
      'GET /api/v3/repos/acme/widgets/collaborators/bob/permission': {
        status: 200,
        body: { permission: 'write', role_name: 'maintain' },
      },
      'GET /api/v3/repos/acme/widgets/collaborators/alice/permission': {
        status: 200,
        body: { permission: 'admin', role_name: 'admin' },
      },
    });
    expect(await github.getPermission(repo, 'bob')).toBe('maintain');
    expect(await github.getPermission(repo, 'alice')).toBe('admin');
    expect(await github.getPermission(repo, 'stranger')).toBe('none');
    expect(seen[0]?.auth).toBe('token ghp_test');
  });

  it('reads files (404 → undefined), issues, refs, and the default branch', async () => {
    const { github } = tokenClient({
      'GET /api/v3/repos/acme/widgets/contents/src/index.js': {
        status: 200,
        body: {
          type: 'file',
          encoding: 'base64',
          content: Buffer.from('export {}\n').toString('base64'),
          sha: 'f1',
        },
      },
      'GET /api/v3/repos/acme/widgets/issues/1': {
        status: 200,
        body: {
          number: 1,
          title: 'T',
          body: null,
          user: { login: 'alice' },
          state: 'open',
          labels: [{ name: 'factory' }],
        },
      },
      'GET /api/v3/repos/acme/widgets': { status: 200, body: { default_branch: 'main' } },
      'GET /api/v3/repos/acme/widgets/git/ref/heads/main': {
        status: 200,
        body: { object: { sha: 'c0ffee' } },
      },
    });
    expect(await github.getFile(repo, 'src/index.js', 'main')).toEqual({ content: 'export {}\n', sha: 'f1' });
    expect(await github.getFile(repo, 'missing.txt', 'main')).toBeUndefined();
    expect(await github.getIssue(repo, 1)).toEqual({
      number: 1,
      title: 'T',
      body: '',
      author: 'alice',
      state: 'open',
      labels: ['factory'],
    });
    expect(await github.getDefaultBranch(repo)).toEqual({ name: 'main', sha: 'c0ffee' });
    expect(await github.getRef(repo, 'refs/heads/nope')).toBeUndefined();
  });

  it('creates refs with the refs/ prefix and deletes idempotently', async () => {
    const { github, seen } = tokenClient({
      'POST /api/v3/repos/acme/widgets/git/refs': { status: 201, body: { ref: 'refs/heads/x' } },
      'DELETE /api/v3/repos/acme/widgets/git/refs/heads/x': {
        status: 422,
        body: { message: 'Reference does not exist' },
      },
    });
    await github.createRef(repo, 'heads/x', 'abc');
    await github.deleteRef(repo, 'refs/heads/x');
    expect(seen[0]?.body).toEqual({ ref: 'refs/heads/x', sha: 'abc' });
  });

  it('retries a 502 and waits out a secondary rate limit a bounded number of times', async () => {
    const { github, seen } = tokenClient(
      {
        'GET /api/v3/repos/acme/widgets/issues/2': [
          { status: 502, body: { message: 'bad gateway' } },
          {
            status: 403,
            body: { message: 'You have exceeded a secondary rate limit' },
            headers: { 'retry-after': '0' },
          },
          { status: 200, body: { number: 2, title: 'ok', user: { login: 'a' }, state: 'open', labels: [] } },
        ],
        'GET /api/v3/repos/acme/widgets/issues/3': () => ({
          status: 403,
          body: { message: 'You have exceeded a secondary rate limit' },
          headers: { 'retry-after': '0' },
        }),
      },
      { retries: 2, rateLimitRetries: 1 },
    );
    expect((await github.getIssue(repo, 2)).title).toBe('ok');
    expect(seen.filter((s) => s.path.endsWith('/issues/2'))).toHaveLength(3);
    await expect(github.getIssue(repo, 3)).rejects.toMatchObject({ status: 403 });
    expect(seen.filter((s) => s.path.endsWith('/issues/3'))).toHaveLength(2);
  });

  it('marks a PR ready through GraphQL, and falls back to PATCH draft:false when GraphQL is 404', async () => {
    const draftPull = {
      number: 5,
      node_id: 'PR_5',
      html_url: 'http://forge.test/acme/widgets/pull/5',
      state: 'open',
      draft: true,
      head: { sha: 'h', ref: 'factory/1-x' },
      base: { ref: 'main' },
    };
    const withGraphql = tokenClient({
      'GET /api/v3/repos/acme/widgets/pulls/5': { status: 200, body: draftPull },
      'POST /api/graphql': {
        status: 200,
        body: { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } },
      },
    });
    await withGraphql.github.markReadyForReview(repo, 5);
    const mutation = withGraphql.seen.find((s) => s.path === '/api/graphql');
    expect(mutation?.body).toMatchObject({ variables: { id: 'PR_5' } });
    expect(withGraphql.seen.some((s) => s.method === 'PATCH')).toBe(false);

    const forge = tokenClient({
      'GET /api/v3/repos/acme/widgets/pulls/5': { status: 200, body: draftPull },
      'PATCH /api/v3/repos/acme/widgets/pulls/5': { status: 200, body: { ...draftPull, draft: false } },
    });
    await forge.github.markReadyForReview(repo, 5);
    expect(forge.seen.find((s) => s.method === 'PATCH')?.body).toEqual({ draft: false });
  });

  it('merges only at the given sha and reports a moved head as not merged', async () => {
    const { github, seen } = tokenClient({
      'PUT /api/v3/repos/acme/widgets/pulls/5/merge': [
        { status: 200, body: { merged: true, sha: 'm1' } },
        { status: 409, body: { message: 'Head branch was modified' } },
      ],
    });
    expect(await github.mergePull(repo, 5, 'h1', 'Add clamp\n\nCloses #1')).toEqual({
      merged: true,
      sha: 'm1',
    });
    expect(seen[0]?.body).toMatchObject({
      sha: 'h1',
      commit_title: 'Add clamp',
      commit_message: 'Closes #1',
    });
    expect(await github.mergePull(repo, 5, 'h0', 'x')).toEqual({ merged: false });
  });

  it('folds check runs and commit statuses into one state', async () => {
    const { github } = tokenClient({
      'GET /api/v3/repos/acme/widgets/commits/abc/check-runs': {
        status: 200,
        body: {
          check_runs: [
            { name: 'test', status: 'completed', conclusion: 'success', output: { summary: 'ok' } },
          ],
        },
      },
      'GET /api/v3/repos/acme/widgets/commits/abc/status': {
        status: 200,
        body: { statuses: [{ context: 'lint', state: 'pending' }] },
      },
    });
    const checks = await github.getChecks(repo, 'abc');
    expect(checks.state).toBe('pending');
    expect(checks.runs.map((r) => r.name)).toEqual(['test', 'lint']);
    expect(foldChecks([])).toBe('none');
    expect(foldChecks([{ name: 'a', status: 'completed', conclusion: 'timed_out' }])).toBe('failure');
    expect(foldChecks([{ name: 'a', status: 'completed', conclusion: 'skipped' }])).toBe('success');
  });

  it("reads a failed run's evidence: the Actions job log and annotations, another app's output, a status's link", async () => {
    const { github, seen } = tokenClient({
      'GET /api/v3/repos/acme/widgets/commits/abc/check-runs': {
        status: 200,
        body: {
          check_runs: [
            {
              id: 7,
              name: 'test',
              status: 'completed',
              conclusion: 'failure',
              details_url: 'https://github.com/acme/widgets/actions/runs/70/job/7',
              output: { title: null, summary: null, text: null, annotations_count: 2 },
            },
            {
              id: 8,
              name: 'lint (buildkite)',
              status: 'completed',
              conclusion: 'failure',
              output: {
                title: 'Lint failed',
                summary: '2 errors',
                text: 'src/a.js:1 no-undef',
                annotations_count: 0,
              },
            },
            {
              id: 9,
              name: 'build',
              status: 'completed',
              conclusion: 'success',
              output: { annotations_count: 0 },
            },
          ],
        },
      },
      'GET /api/v3/repos/acme/widgets/actions/jobs/7/logs': {
        status: 200,
        body: '2026-01-01T00:00:00.0000000Z not ok 1 - adds\n',
      },
      'GET /api/v3/repos/acme/widgets/check-runs/7/annotations': {
        status: 200,
        body: [
          {
            path: 'test/add.test.js',
            start_line: 4,
            end_line: 4,
            start_column: null,
            end_column: null,
            annotation_level: 'failure',
            title: 'adds',
            message: '1 !== 2',
            raw_details: null,
            blob_href: 'https://github.com/acme/widgets/blob/abc/test/add.test.js',
          },
          {
            path: '.github',
            start_line: 1,
            end_line: 1,
            start_column: null,
            end_column: null,
            annotation_level: 'failure',
            title: '',
            message: 'Process completed with exit code 1.',
            raw_details: null,
            blob_href: 'https://github.com/acme/widgets/blob/abc/.github',
          },
        ],
      },
      'GET /api/v3/repos/acme/widgets/commits/abc/status': {
        status: 200,
        body: {
          state: 'failure',
          statuses: [
            {
              context: 'ci/jenkins',
              state: 'failure',
              description: '3 tests failed',
              target_url: 'https://jenkins.example/job/12',
            },
          ],
        },
      },
    });
    const checks = await github.getChecks(repo, 'abc');
    expect(checks.state).toBe('failure');
    const [actions, app, green, status] = checks.runs;
    expect(actions).toMatchObject({ id: 7, url: 'https://github.com/acme/widgets/actions/runs/70/job/7' });
    expect(actions?.log).toContain('not ok 1 - adds');
    expect(actions?.annotations).toEqual([
      { path: 'test/add.test.js', line: 4, level: 'failure', title: 'adds', message: '1 !== 2' },
      { path: '.github', line: 1, level: 'failure', message: 'Process completed with exit code 1.' },
    ]);
    // Another app's run: its output is the evidence; its "job log" is a 404; no annotations asked for.
    expect(app).toMatchObject({ title: 'Lint failed', summary: '2 errors', text: 'src/a.js:1 no-undef' });
    expect(app?.log).toBeUndefined();
    expect(seen.some((s) => s.path.includes('check-runs/8/annotations'))).toBe(false);
    // A green run costs no extra calls.
    expect(green?.log).toBeUndefined();
    expect(seen.some((s) => s.path.includes('jobs/9/logs'))).toBe(false);
    expect(status).toMatchObject({
      name: 'ci/jenkins',
      conclusion: 'failure',
      summary: '3 tests failed',
      url: 'https://jenkins.example/job/12',
    });
  });
});

describe('OctokitGitHub (GitHub App mode)', () => {
  it('looks up the installation once and reuses its token until it nears expiry', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const stub = stubFetch({
      'GET /api/v3/repos/acme/widgets/installation': { status: 200, body: { id: 42 } },
      'POST /api/v3/app/installations/42/access_tokens': () => ({
        status: 201,
        body: { token: 'ghs_installation', expires_at: expiresAt, permissions: { issues: 'write' } },
      }),
      'GET /api/v3/repos/acme/widgets/collaborators/alice/permission': {
        status: 200,
        body: { permission: 'admin', role_name: 'admin' },
      },
    });
    let secretReads = 0;
    const github = new OctokitGitHub({
      baseUrl,
      credentials: async () => {
        secretReads++;
        return { kind: 'app', appId: '1234', privateKey };
      },
      fetch: stub.fetch,
    });
    const results = await Promise.all([
      github.getPermission(repo, 'alice'),
      github.getPermission(repo, 'alice'),
      github.getPermission(repo, 'alice'),
    ]);
    expect(results).toEqual(['admin', 'admin', 'admin']);
    expect(secretReads).toBe(1);
    expect(stub.seen.filter((s) => s.path.endsWith('/installation'))).toHaveLength(1);
    expect(stub.seen.filter((s) => s.path.endsWith('/access_tokens'))).toHaveLength(1);
    const lookup = stub.seen.find((s) => s.path.endsWith('/installation'));
    expect(lookup?.auth).toMatch(/^bearer /i); // the app's JWT, never the installation token
    const calls = stub.seen.filter((s) => s.path.includes('/collaborators/'));
    expect(calls.every((s) => s.auth === 'token ghs_installation')).toBe(true);
  });
});

describe('request time limit', () => {
  it('fails a request that never answers after requestTimeoutMs, instead of hanging', async () => {
    let started = 0;
    const silent = ((_input: unknown, init?: RequestInit) => {
      started += 1;
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    }) as typeof globalThis.fetch;
    const github = new OctokitGitHub({
      baseUrl,
      credentials: { kind: 'token', token: 'ghp_test' },
      fetch: silent,
      pacing: { writeIntervalMs: 0, notificationIntervalMs: 0 },
      retries: 0,
      requestTimeoutMs: 150,
    });
    const begun = Date.now();
    await expect(github.getDefaultBranch({ owner: 'acme', repo: 'widgets' })).rejects.toThrow();
    expect(Date.now() - begun).toBeLessThan(5_000);
    expect(started).toBe(1);
  });
});
