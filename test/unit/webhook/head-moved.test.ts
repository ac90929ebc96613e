import { describe, expect, it } from 'vitest';
import type { Run } from '../../../functions/shared/domain/run';
import { failApprovalOnHeadMoved } from '../../../functions/webhook/head-moved';
import { HEAD_SHA, reviewedRun } from '../approvals/support';
import { makeWebhookContext } from './helpers';

const delivery = { id: 'd-push', event: 'pull_request.synchronize' };
const PUSHED = 'b'.repeat(40);
const push = { type: 'head-moved', repo: 'acme/widgets', prNumber: 12, issueNumber: 7, sha: PUSHED } as const;
const sender = { login: 'eve', type: 'User' };

async function awaitingApproval(overrides: Partial<Run> = {}, withWait = true) {
  const fakes = makeWebhookContext();
  const run = reviewedRun({ status: 'AWAITING_APPROVAL', ...overrides });
  fakes.store.runs.set(run.runId, run);
  if (withWait) {
    await fakes.store.putWait({
      kind: 'approval',
      key: run.runId,
      runId: run.runId,
      taskToken: 'approval-token',
      createdAt: '2025-03-01T00:00:00Z',
      expiresAt: Math.floor(Date.parse('2025-04-01T00:00:00Z') / 1000),
    });
  }
  return { ...fakes, run, failures: fakes.workflow.failures };
}

describe('failApprovalOnHeadMoved', () => {
  it('a push to a new head fails the approval task with HeadMoved, once', async () => {
    const { ctx, run, failures, store } = await awaitingApproval();
    const outcome = await failApprovalOnHeadMoved(ctx, delivery, { ...push, sender });
    expect(outcome).toEqual({ status: 200, data: { status: 'resumed', runId: run.runId } });
    expect(failures).toEqual([
      {
        token: 'approval-token',
        error: 'HeadMoved',
        cause: `the pull request's head moved from ${HEAD_SHA.slice(0, 7)} to bbbbbbb (pushed by eve) while it waited for approval; comment /factory retry to start a new run`,
      },
    ]);
    const again = await failApprovalOnHeadMoved(ctx, { ...delivery, id: 'd-push-2' }, { ...push, sender });
    expect(again.data).toEqual({ status: 'ignored', reason: 'no approval pending' });
    expect(failures).toHaveLength(1);
    expect(store.delivery('d-push')).toMatchObject({ state: 'RESUMED', runId: run.runId });
  });

  it.each([
    [
      'the run is not waiting for approval',
      { status: 'VERIFYING' },
      push,
      'no run waits for approval on this pull request',
    ],
    ['another pull request', {}, { ...push, prNumber: 99 }, 'no run waits for approval on this pull request'],
    ['the head the approvers saw', {}, { ...push, sha: HEAD_SHA }, 'the head the approvers were asked about'],
  ] as const)('ignores a push when %s, writing nothing', async (_, overrides, event, reason) => {
    const { ctx, failures, store } = await awaitingApproval(overrides as Partial<Run>);
    const writes = store.writes.length;
    expect(await failApprovalOnHeadMoved(ctx, delivery, { ...event, sender })).toEqual({
      status: 202,
      data: { status: 'ignored', reason },
    });
    expect(failures).toEqual([]);
    expect(store.writes.length).toBe(writes);
  });

  it('ignores a push to an issue with no run', async () => {
    const { ctx, failures } = await awaitingApproval();
    const outcome = await failApprovalOnHeadMoved(ctx, delivery, { ...push, issueNumber: 8, sender });
    expect(outcome.data.reason).toBe('no run waits for approval on this pull request');
    expect(failures).toEqual([]);
  });

  it('ignores a push while the wait is not stored yet (the approval stage has not asked)', async () => {
    const { ctx, failures } = await awaitingApproval({}, false);
    const outcome = await failApprovalOnHeadMoved(ctx, delivery, { ...push, sender });
    expect(outcome.data).toEqual({ status: 'ignored', reason: 'no approval pending' });
    expect(failures).toEqual([]);
  });
});
