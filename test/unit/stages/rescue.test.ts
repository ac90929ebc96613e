import { describe, expect, it } from 'vitest';
import { type Run, Run as RunSchema } from '../../../functions/shared/domain/run';
import type { GitHub, PullInfo, WorkspaceFile } from '../../../functions/shared/ports';
import { repoOf } from '../../../functions/shared/run-contract';
import type { StagePorts } from '../../../functions/stages/deps';
import { pushRescue, rescueBlock, rescueStart } from '../../../functions/stages/rescue';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { tarballOf } from '../../support/tarball';

const RUN_ID = '01J00000000000000000000000';
const BRANCH = 'bob/slugify-tests';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const rescueRun = (overrides: Partial<Run> = {}): Run =>
  RunSchema.parse({
    runId: RUN_ID,
    kind: 'rescue',
    repo: 'acme/widgets',
    workItemKey: 'acme/widgets#2',
    issueNumber: 2,
    status: 'IMPLEMENTING',
    version: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    trigger: { source: 'comment', sender: 'alice' },
    ...overrides,
  });

const pull = (overrides: Partial<PullInfo> = {}): PullInfo => ({
  number: 2,
  url: 'https://forge/acme/widgets/pull/2',
  headSha: 'sha-bob',
  headRef: BRANCH,
  headRepo: 'acme/widgets',
  baseRef: 'main',
  state: 'open',
  merged: false,
  draft: false,
  ...overrides,
});

interface FakeOptions {
  pull?: PullInfo;
  permission?: string;
  /** The branch head each getRef answers, in turn (the last one repeats). */
  heads?: string[];
  /** Blob shas by `path@ref` (getFile). */
  blobs?: Record<string, string>;
  /** updateRef answers 422 (not a fast forward) this many times first. */
  rejections?: number;
}

function fakeGitHub(options: FakeOptions) {
  const calls: Array<[string, ...unknown[]]> = [];
  const heads = [...(options.heads ?? ['sha-bob'])];
  let rejections = options.rejections ?? 0;
  let commits = 0;
  const github = {
    getTarball: async () => tarballOf({ 'src/slugify.js': 'buggy\n', 'README.md': '# widgets\n' }),
    getPull: async () => options.pull ?? pull(),
    getPermission: async (_repo: unknown, login: string) => {
      calls.push(['getPermission', login]);
      return options.permission ?? 'write';
    },
    getRef: async () => (heads.length > 1 ? heads.shift() : heads[0]),
    getCommitTree: async (_repo: unknown, sha: string) => `tree-of-${sha}`,
    createTree: async (_repo: unknown, base: string) => `tree-on-${base}`,
    createCommit: async (_repo: unknown, message: string, tree: string, parents: string[]) => {
      commits += 1;
      calls.push(['createCommit', tree, parents, message]);
      return `sha-fix-${commits}`;
    },
    updateRef: async (_repo: unknown, ref: string, sha: string, force: boolean) => {
      calls.push(['updateRef', ref, sha, force]);
      if (rejections > 0) {
        rejections -= 1;
        throw Object.assign(new Error('Update is not a fast forward'), { status: 422 });
      }
    },
    getFile: async (_repo: unknown, path: string, ref: string) => {
      const sha = options.blobs?.[`${path}@${ref}`] ?? `blob-${path}`;
      return { content: '', sha };
    },
    createComment: async () => ({ id: 1 }),
    updateComment: async () => undefined,
  } as unknown as GitHub;
  return { github, calls };
}

async function setUp(github: GitHub, run: Run = rescueRun()) {
  const store = new FakeStore();
  const files = [{ path: 'src/slugify.js', content: 'fixed\n', updatedAt: 'x' } as WorkspaceFile];
  store.listWorkspaceFiles = async () => files as never[];
  await store.createRun(run);
  const deps = {
    store,
    github,
    blobs: new MemoryBlobs(),
    log: silent,
    now: () => new Date().toISOString(),
    repoOf,
  } as unknown as StagePorts;
  return { store, deps };
}

const refusalOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error) => ({ name: error.name, message: error.message }),
  );

describe('rescueStart (admit of a rescue run)', () => {
  it("works from the PR's head on its own branch when it is in the repository and the sender may push", async () => {
    const { github, calls } = fakeGitHub({});
    const { deps } = await setUp(github);
    expect(await rescueStart(deps, rescueRun(), 'main')).toEqual({
      prNumber: 2,
      prUrl: 'https://forge/acme/widgets/pull/2',
      headSha: 'sha-bob',
      branch: BRANCH,
    });
    expect(calls).toContainEqual(['getPermission', 'alice']);
  });

  it('refuses a pull request from a fork, or from a fork that no longer exists', async () => {
    for (const headRepo of ['mallory/widgets', undefined]) {
      const { headRepo: _dropped, ...rest } = pull();
      const { github } = fakeGitHub({ pull: headRepo ? { ...rest, headRepo } : rest });
      const { deps } = await setUp(github);
      const refused = await refusalOf(rescueStart(deps, rescueRun(), 'main'));
      expect(refused?.name, String(headRepo)).toBe('ForkPullRequest');
      expect(refused?.message).toContain('Nothing was changed');
    }
  });

  it('refuses a sender who may not push, and a PR from the default branch', async () => {
    const reader = fakeGitHub({ permission: 'read' });
    const refused = await refusalOf(rescueStart((await setUp(reader.github)).deps, rescueRun(), 'main'));
    expect(refused).toMatchObject({ name: 'SenderCannotPush' });
    expect(refused?.message).toContain('@alice has read permission');
    const fromMain = fakeGitHub({ pull: pull({ headRef: 'main' }) });
    expect(
      await refusalOf(rescueStart((await setUp(fromMain.github)).deps, rescueRun(), 'main')),
    ).toMatchObject({
      name: 'ProtectedBranch',
    });
  });

  it("takes an API run's key as the authority, and is nothing for other kinds", async () => {
    const { github, calls } = fakeGitHub({ permission: 'none' });
    const { deps } = await setUp(github);
    const api = rescueRun({ trigger: { source: 'api', sender: 'api:ci' } });
    expect((await rescueStart(deps, api, 'main'))?.branch).toBe(BRANCH);
    const retried = rescueRun({ trigger: { source: 'retry', sender: 'api:ci', command: 'retry' } });
    expect((await rescueStart(deps, retried, 'main'))?.branch).toBe(BRANCH);
    expect(calls.filter((c) => c[0] === 'getPermission')).toEqual([]);
    expect(await rescueStart(deps, rescueRun({ kind: 'change' }), 'main')).toBeUndefined();
    expect(rescueBlock(rescueRun({ kind: 'change' }))).toBeUndefined();
    expect(rescueBlock(rescueRun({ prNumber: 2, branch: BRANCH }))).toContain(
      'This is a rescue of pull request #2',
    );
  });
});

const working = (overrides: Partial<Run> = {}) =>
  rescueRun({
    branch: BRANCH,
    prNumber: 2,
    baseSha: 'sha-bob',
    headSha: 'sha-bob',
    commitMessage: 'Fix slugify: strip the dashes\n\nWhy.',
    rescue: { pushes: [], reapplied: false },
    ...overrides,
  });

describe('pushRescue (state RescuePrPush)', () => {
  it("commits on top of the PR's head, never forced, and records what it pushed", async () => {
    const { github, calls } = fakeGitHub({});
    const { store, deps } = await setUp(github, working());
    expect(await pushRescue(deps, RUN_ID)).toEqual({ outcome: 'pushed' });
    expect(calls).toContainEqual(['updateRef', `heads/${BRANCH}`, 'sha-fix-1', false]);
    const commit = calls.find((c) => c[0] === 'createCommit');
    expect(commit?.slice(1, 3)).toEqual(['tree-on-tree-of-sha-bob', ['sha-bob']]);
    expect(commit?.[3]).toContain(`Code-Factory-Run: ${RUN_ID}`);
    expect(store.runs.get(RUN_ID)).toMatchObject({
      status: 'VERIFYING',
      headSha: 'sha-fix-1',
      rescue: { pushes: [{ sha: 'sha-fix-1', subject: 'Fix slugify: strip the dashes' }], reapplied: false },
    });
  });

  it('re-applies once on a head someone pushed meanwhile, when they changed other files', async () => {
    const { github, calls } = fakeGitHub({ heads: ['sha-carol'] });
    const { store, deps } = await setUp(github, working());
    expect(await pushRescue(deps, RUN_ID)).toEqual({ outcome: 'pushed' });
    const commit = calls.find((c) => c[0] === 'createCommit');
    // Their commit is the parent and the base of the tree: their work stays.
    expect(commit?.slice(1, 3)).toEqual(['tree-on-tree-of-sha-carol', ['sha-carol']]);
    expect(store.runs.get(RUN_ID)).toMatchObject({
      baseSha: 'sha-carol',
      headSha: 'sha-fix-1',
      rescue: { reapplied: true },
    });
    expect(store.events.get(RUN_ID)?.map((e) => e.type)).toContain('rescue.reapplied');
  });

  it('a push GitHub rejects (someone pushed between the read and the update) re-reads the head and re-applies', async () => {
    const { github, calls } = fakeGitHub({ heads: ['sha-bob', 'sha-carol'], rejections: 1 });
    const { store, deps } = await setUp(github, working());
    expect(await pushRescue(deps, RUN_ID)).toEqual({ outcome: 'pushed' });
    expect(calls.filter((c) => c[0] === 'createCommit').map((c) => c[2])).toEqual([
      ['sha-bob'],
      ['sha-carol'],
    ]);
    expect(calls.filter((c) => c[0] === 'updateRef').every((c) => c[3] === false)).toBe(true);
    expect(store.runs.get(RUN_ID)).toMatchObject({ headSha: 'sha-fix-2', rescue: { reapplied: true } });
  });

  it('stops without pushing when the person changed the same files, or pushed again after the one re-apply', async () => {
    const clash = fakeGitHub({
      heads: ['sha-carol'],
      blobs: { 'src/slugify.js@sha-bob': 'blob-1', 'src/slugify.js@sha-carol': 'blob-2' },
    });
    const first = await setUp(clash.github, working());
    expect(await pushRescue(first.deps, RUN_ID)).toEqual({ outcome: 'stopped' });
    expect(clash.calls.filter((c) => c[0] === 'createCommit')).toEqual([]);
    expect(first.store.runs.get(RUN_ID)?.error).toMatchObject({ class: 'HeadMoved' });
    expect(first.store.runs.get(RUN_ID)?.error?.cause).toContain('src/slugify.js');

    const again = fakeGitHub({ heads: ['sha-dave'] });
    const second = await setUp(
      again.github,
      working({ baseSha: 'sha-carol', headSha: 'sha-carol', rescue: { pushes: [], reapplied: true } }),
    );
    expect(await pushRescue(second.deps, RUN_ID)).toEqual({ outcome: 'stopped' });
    expect(again.calls.filter((c) => c[0] === 'updateRef')).toEqual([]);
    expect(second.store.runs.get(RUN_ID)?.error?.cause).toContain('re-applied once already');
  });
});
