import { describe, expect, it } from 'vitest';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import type { GitHub } from '../../../functions/shared/ports';
import { repoOf } from '../../../functions/shared/run-contract';
import type { StagePorts } from '../../../functions/stages/deps';
import { executionEnded } from '../../../functions/stages/execution-ended';
import { FakeStore } from '../../support/fake-store';

/** An execution that ended without finalize: its run ends FAILED with the execution's status. */
const RUN_ID = '01J00000000000000000000003';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function setUp(status: 'IMPLEMENTING' | 'CANCELLED') {
  const store = new FakeStore();
  await store.createRun(
    RunSchema.parse({
      runId: RUN_ID,
      kind: 'change',
      repo: 'acme/widgets',
      issueNumber: 1,
      workItemKey: 'acme/widgets#1',
      status,
      version: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      trigger: { source: 'label', sender: 'alice' },
    }),
  );
  const comments: string[] = [];
  const github = {
    createComment: async (_r: unknown, _n: number, body: string) => {
      comments.push(body);
      return { id: 1 };
    },
  } as unknown as GitHub;
  const deps = { store, github, log: silent, repoOf, now: () => '2026-01-01T00:05:00.000Z' };
  return { store, comments, deps: deps as unknown as StagePorts };
}

describe('execution-ended', () => {
  it('fails a run whose execution timed out as a whole, saying so on the issue', async () => {
    const { store, comments, deps } = await setUp('IMPLEMENTING');
    expect(await executionEnded(deps, RUN_ID, 'TIMED_OUT', null)).toEqual({ status: 'FAILED' });
    expect((await store.getRun(RUN_ID))?.error).toEqual({
      class: 'ExecutionTimedOut',
      cause: 'the execution ended (TIMED_OUT) without a final status',
    });
    expect(comments.at(-1)).toContain('ExecutionTimedOut');
    expect(comments.at(-1)).toContain('/factory retry');
  });

  it("keeps the engine's own error (LocalEngineRestarted) and leaves an ended run alone", async () => {
    const { store, deps } = await setUp('IMPLEMENTING');
    await executionEnded(deps, RUN_ID, 'FAILED', { Error: 'LocalEngineRestarted', Cause: 'restarted' });
    expect((await store.getRun(RUN_ID))?.error?.class).toBe('LocalEngineRestarted');
    const cancelled = await setUp('CANCELLED');
    expect(await executionEnded(cancelled.deps, RUN_ID, 'ABORTED', null)).toEqual({ status: 'CANCELLED' });
    expect(cancelled.comments).toEqual([]);
  });
});
