import type { FakeStore } from '../../support/fake-store';
import { describe, expect, it } from 'vitest';
import { deliverDecision } from '../../../functions/approvals/deliver';
import type { Run } from '../../../functions/shared/domain/run';
import { makeWorld, NEW_HEAD_SHA, reviewedRun, signedApproval, TASK_TOKEN } from './support';

async function setUp(run: Partial<Run> = {}) {
  const world = makeWorld();
  const stored = reviewedRun({ status: 'AWAITING_APPROVAL', ...run });
  await (world.store as FakeStore).createRun(stored);
  world.workflow.liveTokens.add(TASK_TOKEN);
  const { record } = signedApproval({ runId: stored.runId });
  return { world, ports: world.approvalsPorts, run: stored, record };
}

describe('deliverDecision', () => {
  it('approve: the approved head and approver go on the run, then the task succeeds', async () => {
    const { world, ports, run, record } = await setUp();
    expect(await deliverDecision(ports, run, record, 'approve', 'ship it', TASK_TOKEN)).toBe(true);
    expect(await world.store.getRun(run.runId)).toMatchObject({
      approvedSha: record.headSha,
      approvedBy: 'alice',
    });
    expect(world.workflow.successes).toEqual([
      { token: TASK_TOKEN, output: { decision: 'approve', approver: 'alice' } },
    ]);
  });

  it('reject: the rejection goes on the run (its cause bounded), the task fails with the whole cause', async () => {
    const { world, ports, run, record } = await setUp();
    const comment = 'x'.repeat(5000);
    expect(await deliverDecision(ports, run, record, 'reject', comment, TASK_TOKEN)).toBe(true);
    expect((await world.store.getRun(run.runId))?.error).toEqual({
      class: 'Rejected',
      cause: 'x'.repeat(4000),
    });
    expect(world.workflow.failures).toEqual([{ token: TASK_TOKEN, error: 'Rejected', cause: comment }]);
  });

  it('reject without a comment names the approver as the cause', async () => {
    const { world, ports, run, record } = await setUp();
    await deliverDecision(ports, run, record, 'reject', '', TASK_TOKEN);
    expect(world.workflow.failures[0]?.cause).toBe('rejected by alice');
  });

  it.each([
    ['was cancelled', { status: 'CANCELLED' }],
    ['moved to another head', { headSha: NEW_HEAD_SHA }],
  ] as const)('a run that %s meanwhile is neither changed nor answered', async (_, change) => {
    const { world, ports, run, record } = await setUp();
    const current = (await world.store.getRun(run.runId)) as Run;
    await world.store.updateRun(run.runId, current.version, change);
    const before = await world.store.getRun(run.runId);
    expect(await deliverDecision(ports, run, record, 'approve', '', TASK_TOKEN)).toBe(false);
    expect(await world.store.getRun(run.runId)).toEqual(before);
    expect(world.workflow.calls).toBe(0);
  });

  it('a token Step Functions no longer accepts: not delivered', async () => {
    const { world, ports, run, record } = await setUp();
    world.workflow.liveTokens.clear();
    expect(await deliverDecision(ports, run, record, 'approve', '', TASK_TOKEN)).toBe(false);
  });
});
