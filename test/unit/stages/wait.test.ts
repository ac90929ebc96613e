import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mutateRun } from '../../../functions/shared/run-state';
import { createStageHandler } from '../../../functions/stages/app';
import { LAST_POLL_AFTER_MS, MAX_TAKES } from '../../../functions/stages/activity-claim';
import { claimWait, WaitNotOpened } from '../../../functions/stages/wait';
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

const approvalWait = (runId: string) => ({ stage: 'approval' as const, runId, waitId: randomUUID() });

describe('wait.claim: take scheduled waits from the activity until this run’s own is taken', () => {
  it('opens its own wait: the token is stored server-side, the run marked, each approver emailed', async () => {
    const { world, store, runs } = await worldWithRuns(1);
    const own = approvalWait(runs[0]!.runId);
    world.waits.schedule(own, TOKEN_A);

    await expect(claimWait(world.stageDeps, own)).resolves.toEqual({ opened: 1 });

    const run = await store.getRun(own.runId);
    expect(run?.status).toBe('AWAITING_APPROVAL');
    expect(run?.openWaitId).toBe(own.waitId);
    expect((await store.takeWait('approval', own.runId))?.taskToken).toBe(TOKEN_A);
    expect(world.mailer.sent).toHaveLength(runContract().approvers.length);
    for (const message of world.mailer.sent) expect(`${message.html}${message.text}`).not.toContain(TOKEN_A);
    expect(world.workflow.failures).toEqual([]);
  });

  it("opens another run's wait that came first, then goes on until its own is taken", async () => {
    const { world, store, runs } = await worldWithRuns(2);
    const [mine, theirs] = [approvalWait(runs[0]!.runId), approvalWait(runs[1]!.runId)];
    world.waits.schedule(theirs, TOKEN_B);
    world.waits.schedule(mine, TOKEN_A);

    const result = await claimWait(world.stageDeps, mine);

    expect(result).toEqual({ opened: 2 });
    expect(JSON.stringify(result)).not.toContain(theirs.runId);
    expect((await store.takeWait('approval', theirs.runId))?.taskToken).toBe(TOKEN_B);
    expect((await store.takeWait('approval', mine.runId))?.taskToken).toBe(TOKEN_A);
  });

  it('stops as soon as another claim has taken its wait, without waiting for a task', async () => {
    const { world, runs } = await worldWithRuns(2);
    const [mine, theirs] = [approvalWait(runs[0]!.runId), approvalWait(runs[1]!.runId)];
    // Already taken before this claim started (a retried claim, or a faster one).
    await mutateRun(world.stageDeps, mine.runId, () => ({ openWaitId: mine.waitId }));
    await expect(claimWait(world.stageDeps, mine)).resolves.toEqual({ opened: 0 });
    expect(world.waits.takes).toBe(0);

    // Taken while this claim was polling: it opens what it got, then sees its own taken.
    const later = approvalWait(theirs.runId);
    world.waits.schedule(approvalWait(mine.runId), TOKEN_A);
    world.waits.onEmpty = async () => {
      await mutateRun(world.stageDeps, later.runId, () => ({ openWaitId: later.waitId }));
    };
    await expect(claimWait(world.stageDeps, later)).resolves.toEqual({ opened: 1 });
    expect(world.waits.takes).toBe(2);
  });

  it("fails a wait's task with the opener's own error, and still looks for its own wait", async () => {
    const { world, runs } = await worldWithRuns(1, runContract({ approvers: [] }));
    const own = approvalWait(runs[0]!.runId);
    world.waits.schedule(own, TOKEN_A);

    await expect(claimWait(world.stageDeps, own)).resolves.toEqual({ opened: 1 });

    expect(world.workflow.failures).toEqual([
      { token: TOKEN_A, error: 'NoApprovers', cause: expect.stringContaining('nobody can approve') },
    ]);
    expect(world.mailer.sent).toEqual([]);
  });

  it('fails a task whose input is not a pipeline wait, without opening anything', async () => {
    const { world, runs } = await worldWithRuns(1);
    const own = approvalWait(runs[0]!.runId);
    world.waits.schedule({ stage: 'merge', runId: own.runId, waitId: randomUUID() }, TOKEN_A);
    world.waits.schedule('not json', TOKEN_B);
    world.waits.schedule(own, 'activity-token-own');

    await expect(claimWait(world.stageDeps, own)).resolves.toEqual({ opened: 3 });

    expect(world.workflow.failures.map((f) => [f.token, f.error])).toEqual([
      [TOKEN_A, 'InvalidWait'],
      [TOKEN_B, 'InvalidWait'],
    ]);
  });

  it('gives up with WaitNotOpened when its wait never comes: bounded by time and by takes', async () => {
    const { world, runs } = await worldWithRuns(1);
    const own = approvalWait(runs[0]!.runId);

    // Each empty long poll lasts 25 s: no poll starts after LAST_POLL_AFTER_MS.
    world.waits.onEmpty = () => world.clock.advance(25_000);
    await expect(claimWait(world.stageDeps, own)).rejects.toBeInstanceOf(WaitNotOpened);
    expect(world.waits.takes).toBe(Math.ceil(LAST_POLL_AFTER_MS / 25_000));

    // Polls that answer at once: bounded by the number of takes.
    world.waits.takes = 0;
    world.waits.onEmpty = undefined;
    await expect(claimWait(world.stageDeps, own)).rejects.toThrow(
      /could not be taken from the wait activity/,
    );
    expect(world.waits.takes).toBe(MAX_TAKES);
  });

  it('does not poll for a run that has ended', async () => {
    const { world, runs } = await worldWithRuns(1);
    const own = approvalWait(runs[0]!.runId);
    await mutateRun(world.stageDeps, own.runId, () => ({ status: 'CANCELLED' }));
    await expect(claimWait(world.stageDeps, own)).resolves.toEqual({ opened: 0 });
    expect(world.waits.takes).toBe(0);
  });

  it('is dispatched as stage "wait.claim"; the waits can no longer be invoked with a token directly', async () => {
    const { world, runs } = await worldWithRuns(1);
    const handler = createStageHandler(world.stageDeps);
    const own = approvalWait(runs[0]!.runId);
    world.waits.schedule(own, TOKEN_A);

    await expect(
      handler({ stage: 'wait.claim', wait: 'approval', runId: own.runId, waitId: own.waitId }),
    ).resolves.toEqual({ opened: 1 });
    await expect(handler({ stage: 'wait.claim', runId: own.runId })).rejects.toThrow(/missing wait/);
    await expect(handler({ stage: 'approval', runId: own.runId, taskToken: TOKEN_B })).rejects.toThrow(
      /unknown stage approval/,
    );
  });
});
