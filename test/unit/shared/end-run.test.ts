import { describe, expect, it } from 'vitest';
import { contractFromConfig } from '../../../functions/shared/domain/contract';
import { FactoryConfig } from '../../../functions/shared/domain/factory-config';
import { Run as RunSchema, type Run } from '../../../functions/shared/domain/run';
import { failRun, settleEndedRun } from '../../../functions/shared/end-run';
import type { GitHub } from '../../../functions/shared/ports';
import { FakeStore } from '../../support/fake-store';

/**
 * The end of a run, whoever ends it (finalize, the local restart sweep): a failed change run's PR
 * is closed and its branch deleted as a rejection's, or left a draft with `on_failure: draft`; a
 * branch holding a STOPPED run's kept work survives; runs on existing PRs touch nothing; the
 * status comment says why and how to retry.
 */

const RUN_ID = '01J00000000000000000000001';
const HEAD = 'a'.repeat(40);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function forge(pull: { state?: 'open' | 'closed'; draft?: boolean } = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const comments: Array<{ id: number; body: string }> = [];
  const github = {
    getPull: async (_repo: unknown, number: number) => ({
      number,
      state: pull.state ?? 'open',
      merged: false,
      draft: pull.draft ?? false,
      headSha: HEAD,
    }),
    updatePull: async (_repo: unknown, number: number, patch: unknown) => {
      calls.push(['updatePull', number, patch]);
      return { number };
    },
    convertToDraft: async (_repo: unknown, number: number) => {
      calls.push(['convertToDraft', number]);
    },
    getRef: async () => HEAD,
    deleteRef: async (_repo: unknown, ref: string) => {
      calls.push(['deleteRef', ref]);
    },
    createComment: async (_repo: unknown, _issue: number, body: string) => {
      comments.push({ id: comments.length + 1, body });
      return { id: comments.length };
    },
    updateComment: async (_repo: unknown, id: number, body: string) => {
      comments.push({ id, body });
    },
  } as unknown as GitHub;
  return { github, calls, comments };
}

function run(overrides: Partial<Run> = {}, config: FactoryConfig = {}): Run {
  return RunSchema.parse({
    runId: RUN_ID,
    kind: 'change',
    repo: 'acme/widgets',
    issueNumber: 1,
    workItemKey: 'acme/widgets#1',
    status: 'AWAITING_APPROVAL',
    stage: 'approval',
    version: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    trigger: { source: 'label', sender: 'bob' },
    stages: [{ name: 'approval', status: 'WAITING', startedAt: '2026-01-01T00:00:00.000Z' }],
    branch: 'factory/1-greet',
    headSha: HEAD,
    prNumber: 5,
    prUrl: 'https://forge/acme/widgets/pull/5',
    contract: { policy: contractFromConfig(config) },
    ...overrides,
  });
}

async function setUp(initial: Run, pull?: Parameters<typeof forge>[0]) {
  const store = new FakeStore();
  await store.createRun(initial);
  const { github, calls, comments } = forge(pull);
  const deps = { store, github, log: silent, now: () => '2026-01-01T01:00:00.000Z' };
  return { store, deps, calls, comments };
}

const restarted = {
  class: 'LocalEngineRestarted',
  cause: 'the local engine restarted while the run was waiting',
};

describe('failRun (the restart sweep) and settleEndedRun (finalize)', () => {
  it('fails a waiting run, closes its PR, deletes its branch and says why and how to retry', async () => {
    const { store, deps, calls, comments } = await setUp(run());
    const ended = await failRun(deps, RUN_ID, restarted);
    expect(ended.status).toBe('FAILED');
    expect(ended.error?.class).toBe('LocalEngineRestarted');
    expect(ended.stages.every((s) => s.endedAt)).toBe(true);
    expect(calls).toEqual([
      ['updatePull', 5, { state: 'closed' }],
      ['deleteRef', 'heads/factory/1-greet'],
    ]);
    const comment = comments.at(-1)?.body ?? '';
    expect(comment).toContain('failed');
    expect(comment).toContain('LocalEngineRestarted');
    expect(comment).toContain('The pull request was closed and its branch deleted.');
    expect(comment).toContain('/factory retry');
    const finished = store.events.get(RUN_ID)?.find((e) => e.type === 'run.finished');
    expect(finished?.data).toMatchObject({ status: 'FAILED', prClosed: 5, branchDeleted: 'factory/1-greet' });
  });

  it('leaves a run that already ended as it was, touching nothing on GitHub', async () => {
    const { deps, calls, comments } = await setUp(run({ status: 'REJECTED', stages: [] }));
    const ended = await failRun(deps, RUN_ID, restarted);
    expect(ended.status).toBe('REJECTED');
    expect(calls).toEqual([]);
    expect(comments).toEqual([]);
  });

  it('with on_failure: draft, turns the PR back into a draft and keeps its branch', async () => {
    const { deps, calls, comments } = await setUp(run({}, { on_failure: 'draft' }));
    await failRun(deps, RUN_ID, restarted);
    expect(calls).toEqual([['convertToDraft', 5]]);
    expect(comments.at(-1)?.body).toContain('left open as a draft');
  });

  it('keeps a branch that holds a STOPPED run’s kept work, closing only the PR', async () => {
    const { store, deps, calls, comments } = await setUp(run());
    await store.createRun(
      run({ runId: '01J00000000000000000000000', status: 'STOPPED', stages: [], prNumber: 4 }),
    );
    await failRun(deps, RUN_ID, restarted);
    expect(calls).toEqual([['updatePull', 5, { state: 'closed' }]]);
    expect(comments.at(-1)?.body).toContain('its branch was kept');
  });

  it('never closes or deletes anything of a run on an existing PR (review)', async () => {
    const { deps, calls } = await setUp(run({ kind: 'review', branch: undefined }));
    await failRun(deps, RUN_ID, restarted);
    expect(calls).toEqual([]);
  });

  it('never closes or deletes anything of a rescue, failed (with on_failure: draft too), cancelled or stopped, and says what it tried', async () => {
    const rescue = (overrides: Partial<Run> = {}, config: FactoryConfig = {}) =>
      run(
        {
          kind: 'rescue',
          status: 'VERIFYING',
          stage: 'checks',
          branch: 'bob/slugify',
          checksConclusion: 'failure',
          rescue: { pushes: [{ sha: HEAD, subject: 'Fix slugify' }], reapplied: false },
          ...overrides,
        },
        config,
      );
    const { deps, calls, comments } = await setUp(rescue({}, { on_failure: 'draft' }));
    await failRun(deps, RUN_ID, { class: 'FixAttemptsExhausted', cause: 'not ok 1 - strips dashes' });
    expect(calls).toEqual([]);
    const comment = comments.at(-1)?.body ?? '';
    expect(comment).toContain('rescue run');
    expect(comment).toContain('Could not make the checks pass');
    expect(comment).toContain(`${HEAD.slice(0, 7)} Fix slugify`);
    expect(comment).toContain('The pull request stays open and its branch as it is.');
    expect(comment.indexOf('Still failing:')).toBeLessThan(comment.indexOf('not ok 1 - strips dashes'));
    expect(comment).toContain('/factory rescue');
    expect(comment).not.toContain('/factory retry');
    for (const status of ['CANCELLED', 'STOPPED'] as const) {
      const ended = await setUp(rescue({ status }));
      await settleEndedRun(ended.deps, (await ended.store.getRun(RUN_ID)) as Run);
      expect(ended.calls, status).toEqual([]);
    }
  });

  it('says a green rescue merged nothing, with its commits, or that there was nothing to fix', async () => {
    const pushed = await setUp(
      run({
        kind: 'rescue',
        status: 'SUCCEEDED',
        rescue: { pushes: [{ sha: HEAD, subject: 'Fix slugify' }], reapplied: false },
      }),
    );
    await settleEndedRun(pushed.deps, (await pushed.store.getRun(RUN_ID)) as Run);
    const comment = pushed.comments.at(-1)?.body ?? '';
    expect(comment).toContain('checks pass');
    expect(comment).not.toContain('merged as');
    expect(comment).toContain('nothing was merged');
    expect(pushed.calls).toEqual([]);
    const nothing = await setUp(
      run({ kind: 'rescue', status: 'SUCCEEDED', rescue: { pushes: [], reapplied: false } }),
    );
    await settleEndedRun(nothing.deps, (await nothing.store.getRun(RUN_ID)) as Run);
    expect(nothing.comments.at(-1)?.body).toContain('nothing to fix');
  });

  it('settles a STOPPED run without taking its draft back', async () => {
    const { store, deps, calls, comments } = await setUp(run({ status: 'STOPPED' }));
    const stopped = await store.getRun(RUN_ID);
    await settleEndedRun(deps, stopped as Run);
    expect(calls).toEqual([]);
    expect(comments.at(-1)?.body).toContain('/factory retry');
  });
});

describe('on_failure in .github/factory.yml', () => {
  it('accepts close and draft, refuses anything else, and defaults to close', () => {
    expect(contractFromConfig(FactoryConfig.parse({ on_failure: 'draft' })).onFailure).toBe('draft');
    expect(contractFromConfig({}).onFailure).toBe('close');
    const refused = FactoryConfig.safeParse({ on_failure: 'keep' });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toBe("must be 'close' or 'draft'");
  });
});
