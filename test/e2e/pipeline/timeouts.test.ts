import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clarifyScenario, sampleScript } from '../../../local/model/scripts';
import type { Stack } from '../../../local/stack';
import { api, eventually, startTestStack, waitForStatus } from '../../support/e2e';
import {
  approvalLinkOf,
  branchExists,
  eventTypes,
  executionEnded,
  finished,
  issueComments,
  pullOf,
  sandbox,
  startScenario,
} from './support';

/** No run can hang: every human and CI wait ends in a definite status (short waits here). */

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({
    maxWaitSeconds: { clarifySeconds: 3, approvalSeconds: 3, checksSeconds: 5 },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('waits end', () => {
  it('an unanswered clarification ends TIMED_OUT', async () => {
    const box = await sandbox(stack, 'clarify-timeout');
    const run = await startScenario(stack, box, clarifyScenario);
    await waitForStatus(stack, run.runId, ['AWAITING_CLARIFICATION']);
    const done = await finished(stack, run.runId, 20_000);
    expect(done.status).toBe('TIMED_OUT');
    await eventually('run.finished', async () =>
      (await eventTypes(stack, run.runId)).includes('run.finished'),
    );
    // A run that ended by its own rules (here: nobody answered) ends its execution normally; only
    // FAILED runs fail the execution, so the ExecutionsFailed alarm means faults.
    expect(await executionEnded(stack, run.runId)).toBe('SUCCEEDED');
    const status = (await issueComments(stack, box)).find((c) => c.body.includes(run.runId));
    expect(status?.body).toContain('timed out');
    expect(await stack.store.getWait('clarify', done.workItemKey)).toBeUndefined();
  }, 30_000);

  it('an unapproved run ends EXPIRED, its wait released and its links dead', async () => {
    const box = await sandbox(stack, 'approval-timeout');
    const run = await startScenario(stack, box, sampleScript);
    await waitForStatus(stack, run.runId, ['AWAITING_APPROVAL']);
    const link = await approvalLinkOf(stack, run.runId, 'approve');
    const done = await finished(stack, run.runId, 20_000);
    expect(done.status).toBe('EXPIRED');
    // Its own error class, not the engine's States.Timeout.
    expect(done.error?.class).toBe('ApprovalExpired');
    expect(done.mergedSha).toBeUndefined();
    // finalize releases the leftovers before it records the end.
    await eventually('run.finished', async () =>
      (await eventTypes(stack, run.runId)).includes('run.finished'),
    );
    const approvals = await stack.store.listApprovalsForRun(run.runId);
    expect(approvals.length).toBeGreaterThan(0);
    // The links expired with the wait (an expired link can no longer be decided at all).
    const nowSeconds = Math.floor(Date.now() / 1000);
    for (const approval of approvals) {
      expect(approval.state === 'SUPERSEDED' || approval.expiresAt <= nowSeconds).toBe(true);
      expect(approval.state).not.toBe('APPROVED');
    }
    expect(await stack.store.getWait('approval', run.runId)).toBeUndefined();
    // What API consumers see: no link still PENDING; and the change was taken back.
    const view = await api(stack, 'GET', `/v1/runs/${run.runId}`);
    expect(view.json.data.approvals.map((a: { state: string }) => a.state)).not.toContain('PENDING');
    expect(view.json.data.approvals.length).toBeGreaterThan(0);
    expect(view.json.data.error).toMatchObject({ class: 'ApprovalExpired' });
    const prNumber = done.prNumber as number;
    expect((await pullOf(stack, box, prNumber)).state).toBe('closed');
    expect(await branchExists(stack, box, done.branch as string)).toBe(false);
    const status = (await issueComments(stack, box)).find((c) => c.body.includes(run.runId));
    expect(status?.body).toContain('Nobody approved the change in time.');
    expect(status?.body).not.toMatch(/```\s*States\.Timeout/);
    // The emailed link is dead too.
    const page = await fetch(link);
    expect([409, 410]).toContain(page.status);
  }, 30_000);

  it('CI that never reports ends FAILED with ChecksTimedOut', async () => {
    const box = await sandbox(stack, 'ci-silent');
    // The repo has a workflow (CI is configured) but the forge never runs it.
    stack.forge.actions.setCiCommand(box.owner, box.name, null);
    const run = await startScenario(stack, box, sampleScript);
    await waitForStatus(stack, run.runId, ['VERIFYING']);
    const done = await finished(stack, run.runId, 20_000);
    expect(done.status).toBe('FAILED');
    expect(done.error?.class).toBe('ChecksTimedOut');
    const status = (await issueComments(stack, box)).find((c) => c.body.includes(run.runId));
    expect(status?.body).toContain('ChecksTimedOut');
    // A failed change is taken back as a rejected one is, and the comment says how to retry.
    expect(status?.body).toContain('The pull request was closed and its branch deleted.');
    expect(status?.body).toContain('/factory retry');
    expect((await pullOf(stack, box, done.prNumber as number)).state).toBe('closed');
    expect(await branchExists(stack, box, done.branch as string)).toBe(false);
  }, 30_000);
});
