import { describe, expect, it } from 'vitest';
import type { FileChange } from '../../../functions/shared/domain/boundary';
import { contractFromConfig } from '../../../functions/shared/domain/contract';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import { defaultTurns } from '../../../functions/shared/domain/turns';
import type { GitHub, TreeEntry } from '../../../functions/shared/ports';
import { type RunContract, repoOf } from '../../../functions/shared/run-contract';
import type { StagePorts } from '../../../functions/stages/deps';
import { statusDetail } from '../../../functions/shared/end-run';
import { keepableChange, keepWork } from '../../../functions/stages/keep-work';
import { diffStat, stopNote } from '../../../functions/stages/stop-note';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { tarballOf } from '../../support/tarball';

/**
 * keep-work: a run that stops keeps its pending change, within the contract, on a draft PR whose
 * body says where it stopped and what is left; no PR when nothing is pending.
 */

const RUN_ID = '01J00000000000000000000000';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const policy = contractFromConfig({});

const change = (path: string, added: string[], status: FileChange['status'] = 'added'): FileChange => ({
  path,
  status,
  addedLines: added,
  removedLineCount: 0,
  addedBytes: Buffer.byteLength(added.join('\n')),
});

/** A GitHub recording the tree, commits and PR calls; `headTree` is the branch head's tree. */
function recordingGitHub(options: { branchHead?: string; headTree?: string } = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const github = {
    getTarball: async () => tarballOf({ 'README.md': '# widgets\n', 'src/index.js': 'export {};\n' }),
    getRef: async () => options.branchHead,
    getCommitTree: async (_repo: unknown, sha: string) =>
      sha === options.branchHead ? (options.headTree ?? 'tree-old') : 'tree-base',
    createTree: async (_repo: unknown, _base: string, entries: TreeEntry[]) => {
      calls.push(['createTree', entries.map((e) => e.path)]);
      return 'tree-new';
    },
    createCommit: async (_repo: unknown, message: string, _tree: string, parents: string[]) => {
      calls.push(['createCommit', message, parents]);
      return 'sha-new';
    },
    updateRef: async (_repo: unknown, ref: string, sha: string) => calls.push(['updateRef', ref, sha]),
    createRef: async (_repo: unknown, ref: string, sha: string) => calls.push(['createRef', ref, sha]),
    getDefaultBranch: async () => ({ name: 'main' }),
    findOpenPull: async () => undefined,
    getPull: async (_repo: unknown, number: number) => ({ number, state: 'open', merged: false }),
    createPull: async (_repo: unknown, pull: { body: string; draft: boolean }) => {
      calls.push(['createPull', pull]);
      return { number: 7, url: 'https://forge/acme/widgets/pull/7' };
    },
    updatePull: async (_repo: unknown, number: number, patch: { body: string }) => {
      calls.push(['updatePull', number, patch]);
      return { number, url: 'https://forge/acme/widgets/pull/7' };
    },
  } as unknown as GitHub;
  return { github, calls };
}

async function setUp(github: GitHub, files: Record<string, string>, run: Record<string, unknown> = {}) {
  const store = new FakeStore();
  for (const [path, content] of Object.entries(files))
    await store.putWorkspaceFile(RUN_ID, { path, content, deleted: false, updatedAt: 'x' });
  await store.createRun(
    RunSchema.parse({
      runId: RUN_ID,
      kind: 'change',
      repo: 'acme/widgets',
      workItemKey: 'acme/widgets#1',
      status: 'IMPLEMENTING',
      stage: 'implement',
      version: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      trigger: { source: 'label', sender: 'alice' },
      issueNumber: 1,
      issueTitle: 'Add a slugify helper',
      baseSha: 'sha-base',
      planSummary: 'Add slugify in src/slugify.js with tests.',
      plan: { files: ['src/slugify.js', 'test/slugify.test.js'], testPlan: '', risks: [] },
      ledger: {
        llmCalls: 9,
        inputTokens: 1,
        outputTokens: 1,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0.4321,
      },
      ...run,
    }),
  );
  const contract = {
    policy,
    budgetUsd: 5,
    maxFixAttempts: 3,
    turns: { ...defaultTurns(), implement: 4 },
  } as unknown as RunContract;
  const deps = {
    store,
    github,
    blobs: new MemoryBlobs(),
    log: silent,
    now: () => new Date().toISOString(),
    repoOf,
    contractOf: () => contract,
  } as unknown as StagePorts;
  return { store, deps };
}

describe('keepableChange', () => {
  it('leaves out each file that breaks the contract on its own, by rule, and keeps the rest', () => {
    const { kept, leftOut, overLimits } = keepableChange(policy, [
      change('src/slugify.js', ['export const slugify = (s) => s;']),
      change('.github/workflows/x.yml', ['on: push']),
      change('src/config.js', ['const token = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789"']),
      change('package.json', ['{}'], 'modified'),
      change('src/../../etc/passwd', ['x']),
    ]);
    expect(kept.map((c) => c.path)).toEqual(['src/slugify.js']);
    expect(leftOut).toEqual([
      { path: '.github/workflows/x.yml', rules: ['ci-path'] },
      { path: 'src/config.js', rules: ['secret'] },
      { path: 'package.json', rules: ['dependency-manifest'] },
      { rules: ['invalid-path'] },
    ]);
    expect(overLimits).toBeUndefined();
  });

  it('keeps nothing when what passes file by file is still over the size limits', () => {
    const small = contractFromConfig({ max_files_changed: 1 });
    const result = keepableChange(small, [change('src/a.js', ['a']), change('src/b.js', ['b'])]);
    expect(result.kept).toEqual([]);
    expect(result.overLimits).toMatch(/too-many-files/);
  });
});

describe('stopNote', () => {
  it('says why, where, the turns, the cost, the plan, the diff stat and what is left, without a model', async () => {
    const { store } = await setUp(
      recordingGitHub().github,
      {},
      {
        error: { class: 'ChecksFailing', cause: 'environment.checks still fail:\n$ node --test\nnot ok 1' },
      },
    );
    const run = store.runs.get(RUN_ID);
    if (!run) throw new Error('no run');
    const note = stopNote({
      run,
      stage: 'implement',
      turns: { used: 4, limit: 4 },
      budgetUsd: 5,
      maxFixAttempts: 3,
      kept: [change('src/slugify.js', ['a', 'b'])],
      leftOut: [{ path: '.github/workflows/x`y.yml', rules: ['ci-path'] }],
    });
    expect(note).toContain(
      '**Code Factory stopped before finishing** (run `01J00000000000000000000000`, ChecksFailing)',
    );
    expect(note).toContain('Part of #1.');
    expect(note).toContain('- **Stage:** implement, first attempt');
    expect(note).toContain('- **Turns:** 4 of 4 in implement');
    expect(note).toContain("- **Cost:** $0.43 of the run's $5.00 budget, 9 model calls");
    expect(note).toContain('not ok 1');
    expect(note).toContain('Add slugify in src/slugify.js with tests.');
    expect(note).toContain(' src/slugify.js | +2 -0 (new)');
    // A backtick in a path cannot close its code span.
    expect(note).toContain('- `` .github/workflows/x`y.yml ``: a CI/infrastructure path');
    expect(note).toContain('- Make `environment.checks` pass');
    expect(note).toContain('Files in the plan not changed yet: ` test/slugify.test.js `.');
  });

  it('counts a diff stat as git does', () => {
    expect(
      diffStat([change('a.js', ['1']), { ...change('b/c.js', [], 'deleted'), removedLineCount: 3 }]),
    ).toBe(
      ' a.js   | +1 -0 (new)\n b/c.js | +0 -3 (deleted)\n 2 files changed, 1 insertion(s)(+), 3 deletion(s)(-)',
    );
  });
});

describe('keepWork', () => {
  it('pushes the change within the contract as a draft PR with the note, recording why it stopped', async () => {
    const { github, calls } = recordingGitHub();
    const { store, deps } = await setUp(github, {
      'src/slugify.js': 'export const slugify = (s) => s;\n',
      '.github/workflows/x.yml': 'on: push\n',
    });
    const result = await keepWork(deps, RUN_ID, {
      Error: 'BudgetExceeded',
      Cause: 'the next implement call could cost up to $0.24',
    });
    expect(result).toEqual({ kept: true, prNumber: 7 });
    expect(calls.find((c) => c[0] === 'createTree')).toEqual(['createTree', ['src/slugify.js']]);
    expect(calls.find((c) => c[0] === 'createCommit')?.[1]).toMatch(
      /^WIP: Add a slugify helper \(stopped: BudgetExceeded\)\n\nCode-Factory-Run: /,
    );
    const pull = calls.find((c) => c[0] === 'createPull')?.[1] as { body: string; draft: boolean };
    expect(pull.draft).toBe(true);
    expect(pull.body).toContain('BudgetExceeded');
    expect(pull.body).toContain('the next implement call could cost up to $0.24');
    expect(pull.body).toContain('- Finish the change: the budget was spent before it was submitted');
    expect(pull.body).toContain('- ` .github/workflows/x.yml `: a CI/infrastructure path');
    const run = store.runs.get(RUN_ID);
    expect(run).toMatchObject({
      status: 'IMPLEMENTING',
      prNumber: 7,
      headSha: 'sha-new',
      error: { class: 'BudgetExceeded', cause: 'the next implement call could cost up to $0.24' },
    });
    expect(store.events.get(RUN_ID)?.at(-1)).toMatchObject({
      type: 'work.kept',
      data: {
        pushed: true,
        prNumber: 7,
        files: 1,
        leftOut: ['.github/workflows/x.yml'],
        reason: 'BudgetExceeded',
      },
    });
  });

  it('opens no PR when nothing is pending', async () => {
    const { github, calls } = recordingGitHub();
    const { store, deps } = await setUp(
      github,
      {},
      { error: { class: 'TurnsExhausted', cause: 'plan used all' } },
    );
    expect(await keepWork(deps, RUN_ID, null)).toEqual({ kept: false });
    expect(calls).toEqual([]);
    expect(store.runs.get(RUN_ID)?.error?.class).toBe('TurnsExhausted');
    expect(store.events.get(RUN_ID)?.at(-1)).toMatchObject({ type: 'work.kept', data: { pushed: false } });
  });

  it('adds no commit when the branch already holds the change (published before), and updates the PR note', async () => {
    const { github, calls } = recordingGitHub({ branchHead: 'sha-published', headTree: 'tree-new' });
    const { store, deps } = await setUp(
      github,
      { 'src/slugify.js': 'export const slugify = (s) => s;\n' },
      {
        stage: 'review',
        status: 'REVIEWING',
        prNumber: 7,
        headSha: 'sha-published',
        branch: 'factory/1-add-a-slugify-helper',
      },
    );
    await keepWork(deps, RUN_ID, { Error: 'TurnsExhausted', Cause: 'review: ceiling' });
    expect(
      calls.filter((c) => c[0] === 'createCommit' || c[0] === 'updateRef' || c[0] === 'createRef'),
    ).toEqual([]);
    expect(calls.find((c) => c[0] === 'updatePull')?.[2]).toMatchObject({
      body: expect.stringContaining('- **Stage:** review, first attempt'),
    });
    expect(store.runs.get(RUN_ID)?.headSha).toBe('sha-published');
  });

  it('keeps nothing for a run cancelled meanwhile (the cancel took its change back)', async () => {
    const { github, calls } = recordingGitHub();
    const { store, deps } = await setUp(github, { 'src/slugify.js': 'x\n' }, { status: 'CANCELLED' });
    expect(await keepWork(deps, RUN_ID, { Error: 'BudgetExceeded', Cause: 'spent' })).toEqual({
      kept: false,
    });
    expect(calls).toEqual([]);
    expect(store.runs.get(RUN_ID)?.error).toBeUndefined();
  });

  it('the status comment of a STOPPED run points at its draft, or says there was nothing to keep', async () => {
    const { store } = await setUp(
      recordingGitHub().github,
      {},
      { error: { class: 'TurnsExhausted', cause: 'x' } },
    );
    const run = { ...store.runs.get(RUN_ID), status: 'STOPPED' } as Parameters<typeof statusDetail>[0];
    expect(statusDetail({ ...run, prUrl: 'https://forge/pull/7' })).toMatch(
      /^The run stopped before it could finish\. Its work so far is on the draft pull request, .* \(TurnsExhausted\)/,
    );
    expect(statusDetail(run)).toMatch(/^The run stopped before it could finish; it had no change to keep\./);
  });
});
