import { describe, expect, it } from 'vitest';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import type { GitHub } from '../../../functions/shared/ports';
import { repoOf } from '../../../functions/shared/run-contract';
import type { StagePorts } from '../../../functions/stages/deps';
import { resumeNote, resumePointOf, seedFromBranch } from '../../../functions/stages/resume';
import { stopNoteKeyOf } from '../../../functions/stages/stop-note';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { tarballOf } from '../../support/tarball';

/**
 * Resuming a stopped run: which run a retry resumes, and the branch's change against the stopped
 * run's base as the new run's pending change.
 */

// Unpacked snapshots are cached on disk by key: fresh SHAs per test run keep them apart.
const tag = Date.now().toString(36);
const BASE = `base${tag}`;
const HEAD = `head${tag}`;
const STOPPED_ID = '01J00000000000000000000001';
const RETRY_ID = '01J00000000000000000000002';

const BASE_FILES = {
  'README.md': '# widgets\n',
  'src/index.js': 'export {};\n',
  'src/old.js': 'export const old = 1;\n',
};
const HEAD_FILES = {
  'README.md': '# widgets\n',
  'src/index.js': "export { slugify } from './slugify.js';\n",
  'src/slugify.js': 'export const slugify = (s) => s;\n',
  'assets/logo.bin': 'PNG\0\0binary',
};

const runOf = (fields: Record<string, unknown>) =>
  RunSchema.parse({
    kind: 'change',
    repo: 'acme/widgets',
    workItemKey: 'acme/widgets#1',
    issueNumber: 1,
    version: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    trigger: { source: 'label', sender: 'alice' },
    ...fields,
  });

async function setUp(
  options: { stopped?: Record<string, unknown>; branchHead?: string; source?: string } = {},
) {
  const store = new FakeStore();
  await store.createRun(
    runOf({
      runId: STOPPED_ID,
      status: 'STOPPED',
      branch: 'factory/1-add-a-slugify-helper',
      baseSha: BASE,
      headSha: HEAD,
      prNumber: 7,
      error: { class: 'TurnsExhausted', cause: 'implement used all 4 of its turns' },
      planSummary: 'Add slugify.',
      ...options.stopped,
    }),
  );
  const retry = runOf({
    runId: RETRY_ID,
    status: 'QUEUED',
    trigger: { source: options.source ?? 'retry', sender: 'alice', command: 'retry' },
  });
  await store.createRun(retry);
  const refs: string[] = [];
  const github = {
    getRef: async (_repo: unknown, ref: string) => {
      refs.push(ref);
      return 'branchHead' in options ? options.branchHead : HEAD;
    },
    getTarball: async (_repo: unknown, sha: string) => tarballOf(sha === BASE ? BASE_FILES : HEAD_FILES),
  } as unknown as GitHub;
  const blobs = new MemoryBlobs();
  const deps = {
    store,
    github,
    blobs,
    repoOf,
    now: () => '2026-01-02T00:00:00.000Z',
  } as unknown as StagePorts;
  return { deps, store, retry, refs, blobs };
}

describe('resumePointOf', () => {
  it('resumes the stopped run before a retry, from its branch head', async () => {
    const { deps, retry, refs } = await setUp();
    expect(await resumePointOf(deps, retry)).toEqual({
      runId: STOPPED_ID,
      branch: 'factory/1-add-a-slugify-helper',
      headSha: HEAD,
      baseSha: BASE,
      prNumber: 7,
    });
    expect(refs).toEqual(['heads/factory/1-add-a-slugify-helper']);
  });

  it('starts from scratch when the run before did not stop, its branch is gone, or this is no retry', async () => {
    expect(await resumePointOf(...(await args({ stopped: { status: 'FAILED' } })))).toBeUndefined();
    expect(await resumePointOf(...(await args({ branchHead: undefined })))).toBeUndefined();
    expect(await resumePointOf(...(await args({ stopped: { branch: undefined } })))).toBeUndefined();
    expect(await resumePointOf(...(await args({ source: 'label' })))).toBeUndefined();
  });
});

const args = async (options: Parameters<typeof setUp>[0]) => {
  const { deps, retry } = await setUp(options);
  return [deps, retry] as const;
};

describe('seedFromBranch', () => {
  it("writes the branch's change as the pending change: changed, added and deleted files, not binaries", async () => {
    const { deps, store, retry } = await setUp();
    const point = await resumePointOf(deps, retry);
    const seeded = await seedFromBranch(deps, retry, point!);
    expect(seeded).toEqual({ files: 2, deleted: 1, skipped: ['assets/logo.bin'] });
    const files = await store.listWorkspaceFiles(RETRY_ID);
    expect(Object.fromEntries(files.map((f) => [f.path, f.deleted ? null : f.content]))).toEqual({
      'src/index.js': HEAD_FILES['src/index.js'],
      'src/slugify.js': HEAD_FILES['src/slugify.js'],
      'src/old.js': null,
    });
    // Again (a retried admit): the same pending change.
    await seedFromBranch(deps, retry, point!);
    expect(await store.listWorkspaceFiles(RETRY_ID)).toHaveLength(3);
  });
});

describe('resumeNote', () => {
  it("is the stopped run's kept note, else a summary from its record", async () => {
    const { deps, blobs, retry } = await setUp();
    const resumed = {
      ...retry,
      resumedFrom: { runId: STOPPED_ID, branch: 'b', headSha: HEAD, baseSha: BASE },
    };
    expect(await resumeNote(deps, retry)).toBeUndefined();
    expect(await resumeNote(deps, resumed)).toBe(
      `Run ${STOPPED_ID} stopped (TurnsExhausted: implement used all 4 of its turns).\nIts plan: Add slugify.`,
    );
    await blobs.put(stopNoteKeyOf(STOPPED_ID), Buffer.from('**Code Factory stopped before finishing**'));
    expect(await resumeNote(deps, resumed)).toBe('**Code Factory stopped before finishing**');
  });
});
