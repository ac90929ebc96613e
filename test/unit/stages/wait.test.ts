import { describe, expect, it } from 'vitest';
import { createStageHandler } from '../../../functions/stages/app';
import { claimWait } from '../../../functions/stages/wait';
import { type ApprovalFakeStore, makeWorld, reviewedRun, runContract } from '../approvals/support';

const TOKEN_A = 'activity-token-a';
const TOKEN_B = 'activity-token-b';

async function worldWithRuns(count: number, contract = runContract()) {
  const world = makeWorld();
  const store = world.store as ApprovalFakeStore;
  const runs = [];
  for (let i = 0; i < count; i++) {
    const run = reviewedRun({}, contract);
    await store.createRun(run);
    runs.push(run);
  }
  return { world, store, runs };
}

describe('wait.claim: the stage runner takes a scheduled wait from the activity and opens it', () => {
  it('opens the approval wait it took: the token is stored server-side and each approver is emailed', async () => {
    const { world, store, runs } = await worldWithRuns(1);
    const run = runs[0]!;
    world.waits.schedule({ stage: 'approval', runId: run.runId }, TOKEN_A);

    await expect(claimWait(world.stageDeps, run.runId)).resolves.toEqual({ claimed: true });

    expect((await store.getRun(run.runId))?.status).toBe('AWAITING_APPROVAL');
    expect((await store.takeWait('approval', run.runId))?.taskToken).toBe(TOKEN_A);
    expect(world.mailer.sent).toHaveLength(runContract().approvers.length);
    for (const message of world.mailer.sent) {
      expect(`${message.html}${message.text}`).not.toContain(TOKEN_A);
    }
    expect(world.workflow.failures).toEqual([]);
  });

  it("opens another run's wait when that is the one it took (the activity is one queue)", async () => {
    const { world, store, runs } = await worldWithRuns(2);
    const [mine, theirs] = runs as [(typeof runs)[0], (typeof runs)[0]];
    world.waits.schedule({ stage: 'approval', runId: theirs.runId }, TOKEN_B);

    const result = await claimWait(world.stageDeps, mine.runId);

    expect(result).toEqual({ claimed: true });
    expect(JSON.stringify(result)).not.toContain(theirs.runId);
    expect((await store.getRun(theirs.runId))?.status).toBe('AWAITING_APPROVAL');
    expect((await store.takeWait('approval', theirs.runId))?.taskToken).toBe(TOKEN_B);
    expect((await store.getRun(mine.runId))?.status).not.toBe('AWAITING_APPROVAL');
    expect(await store.takeWait('approval', mine.runId)).toBeUndefined();
  });

  it("fails the wait's task with the opener's own error when the wait cannot be opened", async () => {
    const { world, runs } = await worldWithRuns(1, runContract({ approvers: [] }));
    const run = runs[0]!;
    world.waits.schedule({ stage: 'approval', runId: run.runId }, TOKEN_A);

    await expect(claimWait(world.stageDeps, run.runId)).resolves.toEqual({ claimed: true });

    expect(world.workflow.failures).toEqual([
      { token: TOKEN_A, error: 'NoApprovers', cause: expect.stringContaining('nobody can approve') },
    ]);
    expect(world.mailer.sent).toEqual([]);
  });

  it('fails a task whose input is not a pipeline wait, without opening anything', async () => {
    const { world, runs } = await worldWithRuns(1);
    world.waits.schedule({ stage: 'merge', runId: runs[0]!.runId }, TOKEN_A);
    world.waits.schedule('not json', TOKEN_B);

    await claimWait(world.stageDeps, runs[0]!.runId);
    await claimWait(world.stageDeps, runs[0]!.runId);

    expect(world.workflow.failures.map((f) => [f.token, f.error])).toEqual([
      [TOKEN_A, 'InvalidWait'],
      [TOKEN_B, 'InvalidWait'],
    ]);
    expect(world.mailer.sent).toEqual([]);
  });

  it('answers claimed: false when the long poll ends empty', async () => {
    const { world, runs } = await worldWithRuns(1);
    await expect(claimWait(world.stageDeps, runs[0]!.runId)).resolves.toEqual({ claimed: false });
    expect(world.workflow.calls).toBe(0);
  });

  it('is dispatched as stage "wait.claim"; the waits can no longer be invoked with a token directly', async () => {
    const { world, runs } = await worldWithRuns(1);
    const run = runs[0]!;
    const handler = createStageHandler(world.stageDeps);
    world.waits.schedule({ stage: 'approval', runId: run.runId }, TOKEN_A);

    await expect(handler({ stage: 'wait.claim', runId: run.runId })).resolves.toEqual({
      claimed: true,
    });
    await expect(handler({ stage: 'approval', runId: run.runId, taskToken: TOKEN_B })).rejects.toThrow(
      /unknown stage approval/,
    );
  });
});
