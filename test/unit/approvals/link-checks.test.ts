import type { FakeStore } from '../../support/fake-store';
import { describe, expect, it } from 'vitest';
import { checkLink, checkState } from '../../../functions/approvals/link-checks';
import { Refusal, type RefusalReason } from '../../../functions/approvals/refusals';
import type { Run } from '../../../functions/shared/domain/run';
import type { ApprovalRecord } from '../../../functions/shared/ports';
import { makeWorld, NEW_HEAD_SHA, reviewedRun, runContract, signedApproval } from './support';

async function setUp(
  run: Partial<Run> | undefined,
  record: Partial<ApprovalRecord> = {},
  contract = runContract(),
) {
  const world = makeWorld();
  const stored = reviewedRun({ status: 'AWAITING_APPROVAL', ...run }, contract);
  if (run !== undefined) await (world.store as FakeStore).createRun(stored);
  const signed = signedApproval({ runId: stored.runId, ...record });
  return { world, ports: world.approvalsPorts, run: stored, ...signed };
}

async function reasonOf(check: Promise<Run>): Promise<RefusalReason | 'ok'> {
  try {
    await check;
    return 'ok';
  } catch (error) {
    if (error instanceof Refusal) return error.reason;
    throw error;
  }
}

describe('checkState', () => {
  it('a pending link of a listed approver, in time, for the head the run waits on: the run', async () => {
    const { ports, record, run } = await setUp({});
    expect((await checkState(ports, record)).runId).toBe(run.runId);
  });

  it.each<[string, Partial<Run> | undefined, Partial<ApprovalRecord>, RefusalReason]>([
    ['decided already', {}, { state: 'APPROVED' }, 'already-decided'],
    ['superseded by another decision', { status: 'SUCCEEDED' }, { state: 'SUPERSEDED' }, 'superseded'],
    ['superseded by a rejection', { status: 'REJECTED' }, { state: 'SUPERSEDED' }, 'superseded'],
    ['superseded by a newer request', {}, { state: 'SUPERSEDED' }, 'superseded'],
    [
      'superseded by a follow-up run on its PR',
      { status: 'SUPERSEDED' },
      { state: 'SUPERSEDED' },
      'superseded',
    ],
    [
      'superseded because the run was cancelled',
      { status: 'CANCELLED' },
      { state: 'SUPERSEDED' },
      'run-not-waiting',
    ],
    ['superseded because the run failed', { status: 'FAILED' }, { state: 'SUPERSEDED' }, 'run-not-waiting'],
    ['superseded, its run gone', undefined, { state: 'SUPERSEDED' }, 'superseded'],
    ['for a run that does not exist', undefined, {}, 'not-found'],
    ['for a run no longer awaiting approval', { status: 'MERGING' }, {}, 'run-not-waiting'],
    ['for a head the run has moved from', { headSha: NEW_HEAD_SHA }, {}, 'stale-head'],
    ['of someone not in the contract', {}, { approver: 'mallory' }, 'approver-not-listed'],
  ])('refuses a link %s', async (_, run, record, reason) => {
    const s = await setUp(run, record);
    expect(await reasonOf(checkState(s.ports, s.record))).toBe(reason);
  });

  it('expires at expiresAt to the second', async () => {
    const s = await setUp({});
    s.world.clock.advance(s.record.expiresAt * 1000 - s.world.clock.now() - 1);
    expect(await reasonOf(checkState(s.ports, s.record))).toBe('ok');
    s.world.clock.advance(1);
    expect(await reasonOf(checkState(s.ports, s.record))).toBe('expired');
  });

  it('approvers match whatever the case; a contract naming none falls back to the deployment list', async () => {
    const listed = await setUp({}, { approver: 'ALICE' });
    expect(await reasonOf(checkState(listed.ports, listed.record))).toBe('ok');

    const fallback = await setUp({}, { approver: 'dora' }, runContract({ approvers: [] }));
    expect(await reasonOf(checkState(fallback.ports, fallback.record))).toBe('approver-not-listed');
    fallback.ports.settings.defaultApprovers = [{ login: 'Dora', email: 'dora@example.test' }];
    expect(await reasonOf(checkState(fallback.ports, fallback.record))).toBe('ok');
  });

  it('reads and writes nothing but the run', async () => {
    const s = await setUp({});
    const store = s.world.store as FakeStore;
    const before = store.calls.length;
    await checkState(s.ports, s.record);
    expect(store.calls.slice(before)).toEqual(['getRun']);
  });
});

describe('checkLink', () => {
  it('refuses a token not signed for this record before reading anything', async () => {
    const s = await setUp({});
    const store = s.world.store as FakeStore;
    const before = store.calls.length;
    const other = signedApproval({ runId: s.run.runId, approver: 'bob' });
    expect(await reasonOf(checkLink(s.ports, s.record, other.token))).toBe('bad-link-token');
    expect(store.calls.length).toBe(before);
    expect(await reasonOf(checkLink(s.ports, s.record, s.token))).toBe('ok');
  });
});
