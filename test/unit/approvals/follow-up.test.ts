import type { FakeStore } from '../../support/fake-store';
import { describe, expect, it } from 'vitest';
import { announceDecision, audit, supersedeOthers } from '../../../functions/approvals/follow-up';
import type { Log } from '../../../functions/shared/ports';
import { makeWorld, reviewedRun, signedApproval } from './support';

function capturingLog() {
  const warnings: string[] = [];
  const log: Log = { debug() {}, info() {}, error() {}, warn: (message) => warnings.push(message) };
  return { log, warnings };
}

describe('supersedeOthers', () => {
  it("marks the run's other pending links SUPERSEDED and leaves decided ones alone", async () => {
    const world = makeWorld();
    const store = world.store as FakeStore;
    const runId = '01JABCDEFGHJKMNPQRSTVWXYZ0';
    const alice = signedApproval({ runId, state: 'APPROVED' }).record;
    const bob = signedApproval({ runId, approvalId: 'bobBobBobBobBobBobBo00', approver: 'bob' }).record;
    const old = signedApproval({ runId, approvalId: 'oldOldOldOldOldOldOl00', state: 'REJECTED' }).record;
    const elsewhere = signedApproval({
      runId: '01JZZZZZZZZZZZZZZZZZZZZZZZ',
      approvalId: 'elseElseElseElseElse00',
    }).record;
    for (const record of [alice, bob, old, elsewhere]) await world.store.putApproval(record);

    const before = store.calls.length;
    await supersedeOthers(world.approvalsPorts, runId, alice.approvalId, '2025-03-01T12:00:00.000Z');
    // One conditional write, for the one link still pending.
    expect(store.calls.slice(before)).toEqual(['listApprovalsForRun', 'decideApproval']);
    expect(store.approvals.get(bob.approvalId)).toMatchObject({
      state: 'SUPERSEDED',
      decidedAt: '2025-03-01T12:00:00.000Z',
    });
    expect(store.approvals.get(alice.approvalId)?.state).toBe('APPROVED');
    expect(store.approvals.get(old.approvalId)?.state).toBe('REJECTED');
    expect(store.approvals.get(elsewhere.approvalId)?.state).toBe('PENDING');
  });
});

describe('audit', () => {
  it('appends the event, and a failing store only logs', async () => {
    const world = makeWorld();
    const store = world.store as FakeStore;
    const { log, warnings } = capturingLog();
    const ports = { store, log };
    await audit(ports, 'R1', 'approval.refused', 'approval-link', { reason: 'expired' });
    expect((await store.listEvents('R1', { limit: 10 })).items).toMatchObject([
      { type: 'approval.refused', actor: 'approval-link', data: { reason: 'expired' } },
    ]);
    store.failNext.set('appendEvent', new Error('throttled'));
    await expect(audit(ports, 'R1', 'approval.decided', 'alice', {})).resolves.toBeUndefined();
    expect(warnings).toEqual(['approval audit event failed']);
  });
});

describe('announceDecision', () => {
  it('comments once on the issue and once on the PR, the approver’s words fenced', async () => {
    const world = makeWorld();
    const run = reviewedRun();
    const { record } = signedApproval({ runId: run.runId });
    await announceDecision(world.approvalsPorts, run, record, 'reject', 'no @everyone <b>please</b>');
    expect(world.github.comments.map((c) => c.number)).toEqual([7, 12]);
    const body = world.github.comments[0]?.body ?? '';
    expect(body).toMatch(
      new RegExp(`^@alice rejected commit \`${record.headSha.slice(0, 7)}\` of run \`${run.runId}\``),
    );
    expect(body).toContain('```');
    expect(world.github.comments[1]?.body).toBe(body);
  });

  it('comments once when the run has no separate PR, and a GitHub failure only logs', async () => {
    const world = makeWorld();
    const { log, warnings } = capturingLog();
    const run = reviewedRun({ prNumber: 7 });
    const { record } = signedApproval({ runId: run.runId });
    await announceDecision(world.approvalsPorts, run, record, 'approve', '');
    expect(world.github.comments).toHaveLength(1);
    world.github.createComment = () => Promise.reject(new Error('502'));
    await expect(
      announceDecision({ ...world.approvalsPorts, log }, run, record, 'approve', ''),
    ).resolves.toBeUndefined();
    expect(warnings).toEqual(['approval comment failed']);
  });
});
