import { describe, expect, it } from 'vitest';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import type { GitHub, WorkspaceFile } from '../../../functions/shared/ports';
import { repoOf } from '../../../functions/shared/run-contract';
import type { StagePorts } from '../../../functions/stages/deps';
import { publish } from '../../../functions/stages/publish';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { tarballOf } from '../../support/tarball';

const RUN_ID = '01J00000000000000000000000';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A GitHub that records the git-data and PR calls publish makes. */
function recordingGitHub(options: { branchHead?: string; onCreatePull?: () => Promise<void> }) {
  const calls: Array<[string, ...unknown[]]> = [];
  let head = options.branchHead;
  const github = {
    getTarball: async () => tarballOf({ 'README.md': '# widgets\n' }),
    getRef: async (_repo: unknown, ref: string) => {
      calls.push(['getRef', ref]);
      return head;
    },
    getCommitTree: async () => 'tree-base',
    createTree: async () => 'tree-new',
    createCommit: async (_repo: unknown, _message: string, _tree: string, parents: string[]) => {
      calls.push(['createCommit', parents]);
      return 'sha-new';
    },
    updateRef: async (_repo: unknown, ref: string, sha: string, force: boolean) => {
      calls.push(['updateRef', ref, sha, force]);
      head = sha;
    },
    createRef: async (_repo: unknown, ref: string, sha: string) => {
      calls.push(['createRef', ref, sha]);
      head = sha;
    },
    deleteRef: async (_repo: unknown, ref: string) => {
      calls.push(['deleteRef', ref]);
      head = undefined;
    },
    getDefaultBranch: async () => ({ name: 'main' }),
    findOpenPull: async () => undefined,
    getPull: async (_repo: unknown, number: number) => ({
      number,
      state: 'open',
      merged: false,
      headSha: head,
    }),
    createPull: async () => {
      calls.push(['createPull']);
      await options.onCreatePull?.();
      return { number: 7, url: 'https://forge/acme/widgets/pull/7' };
    },
    updatePull: async (_repo: unknown, number: number, patch: unknown) => {
      calls.push(['updatePull', number, patch]);
      return { number, url: 'https://forge/acme/widgets/pull/7' };
    },
    createComment: async () => ({ id: 1 }),
    updateComment: async () => undefined,
  } as unknown as GitHub;
  return { github, calls };
}

async function setUp(github: GitHub) {
  const store = new FakeStore();
  const files: WorkspaceFile[] = [
    { path: 'src/slugify.js', content: 'export {}\n', updatedAt: 'x' } as WorkspaceFile,
  ];
  store.listWorkspaceFiles = async () => files as never[];
  await store.createRun(
    RunSchema.parse({
      runId: RUN_ID,
      kind: 'change',
      repo: 'acme/widgets',
      workItemKey: 'acme/widgets#1',
      status: 'IMPLEMENTING',
      version: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      trigger: { source: 'label', sender: 'alice' },
      issueNumber: 1,
      issueTitle: 'Add a slugify helper',
      baseSha: 'sha-base',
    }),
  );
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

describe('publish', () => {
  it('starts from the base on a fresh branch', async () => {
    const { github, calls } = recordingGitHub({});
    const { store, deps } = await setUp(github);
    const result = await publish(deps, RUN_ID);
    expect(result).toEqual({ headSha: 'sha-new', prNumber: 7 });
    expect(calls).toContainEqual(['createCommit', ['sha-base']]);
    expect(calls).toContainEqual(['createRef', 'refs/heads/factory/1-add-a-slugify-helper', 'sha-new']);
    expect(store.runs.get(RUN_ID)).toMatchObject({ status: 'VERIFYING', headSha: 'sha-new', prNumber: 7 });
  });

  it("never force-pushes over commits it did not make (a person's push, a failed run's PR)", async () => {
    const { github, calls } = recordingGitHub({ branchHead: 'sha-pushed-by-bob' });
    const { store, deps } = await setUp(github);
    await publish(deps, RUN_ID);
    expect(calls).toContainEqual(['createCommit', ['sha-pushed-by-bob']]);
    expect(calls).toContainEqual(['updateRef', 'heads/factory/1-add-a-slugify-helper', 'sha-new', false]);
    expect(calls.filter((c) => c[0] === 'updateRef' && c[3] === true)).toEqual([]);
    const published = store.events.get(RUN_ID)?.find((e) => e.type === 'change.published');
    expect(published?.data).toMatchObject({ builtOnForeignHead: 'sha-pushed-by-bob' });
  });

  it("builds a later attempt on the run's own previous commit, without forcing", async () => {
    const { github, calls } = recordingGitHub({ branchHead: 'sha-attempt-1' });
    const { store, deps } = await setUp(github);
    const run = store.runs.get(RUN_ID);
    if (!run) throw new Error('no run');
    store.runs.set(RUN_ID, { ...run, headSha: 'sha-attempt-1', branch: 'factory/1-add-a-slugify-helper' });
    await publish(deps, RUN_ID);
    expect(calls).toContainEqual(['createCommit', ['sha-attempt-1']]);
    expect(calls).toContainEqual(['updateRef', 'heads/factory/1-add-a-slugify-helper', 'sha-new', false]);
  });

  it('takes its own PR back when the run is cancelled while it publishes', async () => {
    let store: FakeStore | undefined;
    const { github, calls } = recordingGitHub({
      onCreatePull: async () => {
        // A cancel lands between the PR's creation and publish's write: it sees no PR to close.
        const current = store?.runs.get(RUN_ID);
        if (!store || !current) throw new Error('no run');
        await store.updateRun(RUN_ID, current.version, {
          status: 'CANCELLED',
          endedAt: new Date().toISOString(),
        });
      },
    });
    const set = await setUp(github);
    store = set.store;
    await publish(set.deps, RUN_ID);
    expect(calls).toContainEqual(['updatePull', 7, { state: 'closed' }]);
    expect(calls).toContainEqual(['deleteRef', 'heads/factory/1-add-a-slugify-helper']);
    const run = store.runs.get(RUN_ID);
    expect(run?.status).toBe('CANCELLED');
    expect(run?.prNumber).toBeUndefined();
    expect(store.events.get(RUN_ID)?.map((e) => e.type)).toContain('change.withdrawn');
  });
});
