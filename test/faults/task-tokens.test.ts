import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfnWorkflow } from '../../functions/shared/adapters/workflow';
import { mutateRun } from '../../functions/shared/run-state';
import { sampleScript } from '../../local/model/scripts';
import type { Stack } from '../../local/stack';
import { pullOf, sandbox, startScenario } from '../e2e/pipeline/support';
import { eventually, startTestStack, waitForEnd } from '../support/e2e';
import { historyOf, statesEntered } from './support';

/**
 * Fault suite: task tokens answered twice, and answered after their task timed out, through the
 * embedded stack's real Step Functions endpoint and the production `SfnWorkflow` adapter.
 */

const APPROVAL_SECONDS = 5;
let stack: Stack;
let workflow: SfnWorkflow;

beforeAll(async () => {
  stack = await startTestStack({ maxWaitSeconds: { approvalSeconds: APPROVAL_SECONDS } });
  workflow = new SfnWorkflow(stack.sfn, stack.stateMachineArn);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const approvalWait = (runId: string) =>
  eventually(`the approval wait of ${runId}`, () => stack.store.getWait('approval', runId), 60_000, 50);

describe('task tokens under faults', () => {
  it('a duplicate SendTaskSuccess is refused and the execution advances once', async () => {
    const box = await sandbox(stack, 'dup-token');
    const run = await startScenario(stack, box, sampleScript);
    await approvalWait(run.runId);
    // What the approvals handler does before answering: take the wait, record the approved SHA.
    const taken = await stack.store.takeWait('approval', run.runId);
    expect(taken?.taskToken).toBeTruthy();
    const token = taken?.taskToken ?? '';
    await mutateRun({ store: stack.store }, run.runId, (r) => ({
      approvedSha: r.headSha,
      approvedBy: 'alice',
    }));

    const output = { decision: 'approve', approver: 'alice' };
    const concurrent = await Promise.all([
      workflow.sendTaskSuccess(token, output),
      workflow.sendTaskSuccess(token, output),
    ]);
    expect([...concurrent].sort()).toEqual([false, true]);
    expect(await workflow.sendTaskSuccess(token, output)).toBe(false);
    expect(await workflow.sendTaskFailure(token, 'Rejected', 'too late')).toBe(false);

    const ended = await waitForEnd(stack, run.runId, 60_000);
    expect(ended.status).toBe('SUCCEEDED');
    // The run's status is written by the last stage; the execution ends a moment later.
    const history = await eventually('the execution to end', async () => {
      const events = await historyOf(stack.sfn, stack.stateMachineArn, run.runId);
      return events.some((e) => e.type?.startsWith('Execution') && e.type !== 'ExecutionStarted')
        ? events
        : undefined;
    });
    const entered = statesEntered(history);
    expect(entered.filter((s) => s === 'Approval')).toHaveLength(1);
    expect(entered.filter((s) => s === 'Merge')).toHaveLength(1);
    expect(history.filter((e) => e.type === 'ExecutionSucceeded')).toHaveLength(1);
    const pull = await pullOf(stack, box, ended.prNumber ?? 0);
    expect(pull?.merged).toBe(true);
  }, 90_000);

  it('a token used after its task timed out is refused; the timeout path ends the run', async () => {
    const box = await sandbox(stack, 'late-token');
    const run = await startScenario(stack, box, sampleScript);
    const wait = await approvalWait(run.runId);

    const ended = await waitForEnd(stack, run.runId, 60_000);
    expect(ended.status).toBe('EXPIRED');
    expect(await workflow.sendTaskSuccess(wait.taskToken, { decision: 'approve', approver: 'alice' })).toBe(
      false,
    );
    expect(await workflow.sendTaskFailure(wait.taskToken, 'Rejected', 'late')).toBe(false);
    expect(await workflow.sendTaskHeartbeat(wait.taskToken)).toBe(false);

    const history = await historyOf(stack.sfn, stack.stateMachineArn, run.runId);
    const timedOut = history.filter((e) => e.type === 'TaskTimedOut');
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]?.taskTimedOutEventDetails?.error).toBe('States.Timeout');
    const entered = statesEntered(history);
    expect(entered).toContain('FinalizeExpired');
    expect(entered).not.toContain('Merge');
    const after = await stack.store.getRun(run.runId);
    expect(after?.status).toBe('EXPIRED');
    const pull = await pullOf(stack, box, after?.prNumber ?? 0);
    expect(pull?.merged).toBe(false);
  }, 90_000);
});
