import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OctokitGitHub, type OctokitGitHubOptions } from '../../functions/shared/adapters/github';
import type { RepoRef } from '../../functions/shared/ports';
import { type Forge, SAMPLE_OWNER, SAMPLE_REPO, startForge } from '../../local/forge';
import {
  type FaultProxy,
  type ProxiedRequest,
  secondaryRateLimit,
  serverError,
  startFaultProxy,
  tooManyRequests,
} from './fault-proxy';

/**
 * Fault suite: GitHub 5xx and rate limits (secondary 403 and 429, both with retry-after) during
 * publish and merge. The production `OctokitGitHub` adapter talks to the local forge through a
 * fault-injecting proxy: it must retry a bounded number of times, wait what retry-after asks, and
 * then succeed with exactly one effect (one PR, one merge).
 *
 * The whole pipeline cannot run through the proxy yet: startStack has no GitHub API URL override
 * (it sets GITHUB_API_URL to the forge itself), so these tests drive the adapter directly.
 */

const repo: RepoRef = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };
let forge: Forge;
let proxy: FaultProxy;

/**
 * makeGitHub's settings on the embedded stack: retries 2, rate-limit retries 2, waits in seconds,
 * no write pacing (GITHUB_WRITE_INTERVAL_MS=0), so every measured wait is a retry wait.
 */
const adapter = (overrides: Partial<OctokitGitHubOptions> = {}) =>
  new OctokitGitHub({
    baseUrl: proxy.url,
    credentials: { kind: 'token', token: forge.botToken },
    pacing: { writeIntervalMs: 0, notificationIntervalMs: 0 },
    ...overrides,
  });

beforeAll(async () => {
  forge = await startForge({ webhookSecret: 'github-faults-secret' });
  await forge.seedSample();
  proxy = await startFaultProxy(forge.apiUrl);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await forge?.close();
});

beforeEach(() => proxy.clear());

const calls = (method: string, path: RegExp): ProxiedRequest[] =>
  proxy.requests().filter((r) => r.method === method && path.test(r.path));

/** The gap between an injected rate-limit answer and the next attempt of the same call. */
function waitedAfter(method: string, path: RegExp, status: number): number {
  const attempts = calls(method, path);
  const index = attempts.findIndex((r) => r.injected && r.status === status);
  const next = attempts[index + 1];
  if (index < 0 || !next) throw new Error(`no retry after the injected ${status} on ${method} ${path}`);
  return next.at - (attempts[index]?.at ?? 0);
}

describe('GitHub faults during publish and merge', () => {
  it('publish survives 5xx, a secondary rate limit and a 429, honouring retry-after, with one PR', async () => {
    const github = adapter();
    const trees = /\/repos\/acme\/widgets\/git\/trees$/;
    const commits = /\/repos\/acme\/widgets\/git\/commits$/;
    const refs = /\/repos\/acme\/widgets\/git\/refs$/;
    const pulls = /\/repos\/acme\/widgets\/pulls$/;
    proxy.inject({ method: 'POST', path: trees, responses: [serverError(502)] });
    proxy.inject({ method: 'POST', path: commits, responses: [secondaryRateLimit(1)] });
    proxy.inject({ method: 'POST', path: refs, responses: [tooManyRequests(1)] });
    proxy.inject({ method: 'POST', path: pulls, responses: [serverError(503)] });

    const base = await github.getDefaultBranch(repo);
    const baseTree = await github.getCommitTree(repo, base.sha);
    const tree = await github.createTree(repo, baseTree, [
      { path: 'src/fault.js', mode: '100644', type: 'blob', content: 'export const fault = 1;\n' },
    ]);
    const commit = await github.createCommit(repo, 'Add fault marker', tree, [base.sha]);
    await github.createRef(repo, 'heads/factory/fault-publish', commit);
    const pull = await github.createPull(repo, {
      title: 'Fault marker',
      body: 'publish under faults',
      head: 'factory/fault-publish',
      base: base.name,
      draft: false,
    });

    expect(pull.headSha).toBe(commit);
    expect(await github.getRef(repo, 'heads/factory/fault-publish')).toBe(commit);
    expect(await github.findOpenPull(repo, 'factory/fault-publish')).toMatchObject({ number: pull.number });
    // Each faulted call was retried exactly once and then reached the forge.
    for (const path of [trees, commits, refs, pulls]) {
      expect(calls('POST', path).map((r) => r.injected)).toEqual([true, false]);
    }
    expect(waitedAfter('POST', commits, 403)).toBeGreaterThanOrEqual(950);
    expect(waitedAfter('POST', refs, 429)).toBeGreaterThanOrEqual(950);
  }, 30_000);

  it('merge survives a secondary rate limit then a 502, honouring retry-after, merging once', async () => {
    const github = adapter();
    const base = await github.getDefaultBranch(repo);
    const tree = await github.createTree(repo, await github.getCommitTree(repo, base.sha), [
      { path: 'src/merge-fault.js', mode: '100644', type: 'blob', content: 'export const m = 1;\n' },
    ]);
    const commit = await github.createCommit(repo, 'Merge fault marker', tree, [base.sha]);
    await github.createRef(repo, 'heads/factory/fault-merge', commit);
    const pull = await github.createPull(repo, {
      title: 'Merge fault',
      body: 'merge under faults',
      head: 'factory/fault-merge',
      base: base.name,
      draft: false,
    });
    const merge = new RegExp(`/repos/acme/widgets/pulls/${pull.number}/merge$`);
    proxy.inject({ method: 'PUT', path: merge, responses: [secondaryRateLimit(1), serverError(502)] });

    const merged = await github.mergePull(repo, pull.number, commit, 'Merge fault\n\nmerged under faults');
    expect(merged.merged).toBe(true);
    expect(calls('PUT', merge).map((r) => r.injected)).toEqual([true, true, false]);
    expect(waitedAfter('PUT', merge, 403)).toBeGreaterThanOrEqual(950);
    const after = await github.getPull(repo, pull.number);
    expect(after.merged).toBe(true);
    expect(after.mergeCommitSha).toBe(merged.sha);
    expect((await github.getDefaultBranch(repo)).sha).toBe(merged.sha);
  }, 30_000);

  it('gives up after a bounded number of attempts: 5xx, secondary limits, and a retry-after too long', async () => {
    // A shorter unit so the bounded backoffs finish quickly; the attempt counts are what matter.
    const github = adapter({ retryBaseMs: 50 });
    const comments = /\/repos\/acme\/widgets\/issues\/1\/comments$/;
    proxy.inject({
      method: 'POST',
      path: comments,
      responses: Array.from({ length: 10 }, () => serverError(502)),
    });
    await expect(github.createComment(repo, 1, 'never lands')).rejects.toMatchObject({ status: 502 });
    expect(calls('POST', comments)).toHaveLength(3);

    proxy.clear();
    proxy.inject({
      method: 'POST',
      path: comments,
      responses: Array.from({ length: 10 }, () => secondaryRateLimit(1)),
    });
    await expect(github.createComment(repo, 1, 'never lands')).rejects.toMatchObject({ status: 403 });
    expect(calls('POST', comments)).toHaveLength(3);

    proxy.clear();
    proxy.inject({ method: 'POST', path: comments, responses: [secondaryRateLimit(3600)] });
    const started = Date.now();
    await expect(github.createComment(repo, 1, 'never lands')).rejects.toMatchObject({ status: 403 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(calls('POST', comments)).toHaveLength(1);

    const listed = await fetch(`${forge.apiUrl}/repos/acme/widgets/issues/1/comments`, {
      headers: { authorization: `token ${forge.botToken}` },
    });
    const bodies = ((await listed.json()) as Array<{ body: string }>).map((c) => c.body);
    expect(bodies).not.toContain('never lands');
  }, 30_000);
});
