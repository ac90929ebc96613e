import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfnWorkflow } from '../../functions/shared/adapters/workflow';
import { SAMPLE_CI_COMMAND } from '../../local/forge';
import { clarifyScenario, sampleScript } from '../../local/model/scripts';
import type { Stack } from '../../local/stack';
import { eventTypes, pullOf, sandbox, startScenario } from '../e2e/pipeline/support';
import { eventually, startTestStack, waitForEnd, waitForStatus } from '../support/e2e';
import { historyOf, statesEntered } from './support';

/**
 * Issue 15: a task token may be in the execution history, so anyone who can read a history and
 * call `states:SendTask*` can answer any pause of a run. Each forged answer, with a token read from
 * the history, must change no decision: no merge, no approval, no model output, no answer from a
 * reader, and a forged `Rejected` or `Cancelled` failure must not make a REJECTED or CANCELLED run.
 */

let stack: Stack;
let workflow: SfnWorkflow;

beforeAll(async () => {
  stack = await startTestStack();
  workflow = new SfnWorkflow(stack.sfn, stack.stateMachineArn);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** The token of the task `state` scheduled last in the run's history, once it is scheduled. */
async function tokenOf(runId: string, state: string): Promise<string> {
  return eventually(`${state}'s task token in the history of ${runId}`, async () => {
    const events = await historyOf(stack.sfn, stack.stateMachineArn, runId);
    let entered: HistoryEvent | undefined;
    let scheduled: HistoryEvent | undefined;
    for (const event of events) {
      if (event.type === 'TaskStateEntered') {
        entered = event.stateEnteredEventDetails?.name === state ? event : undefined;
        scheduled = undefined;
      } else if (entered && event.type === 'TaskScheduled') scheduled = event;
      else if (entered && /^Task(Succeeded|Failed|TimedOut)$/.test(event.type ?? '')) entered = undefined;
    }
    if (!entered || !scheduled) return undefined;
    const parameters = JSON.parse(scheduled.taskScheduledEventDetails?.parameters ?? '{}');
    const body =
      typeof parameters.MessageBody === 'string'
        ? JSON.parse(parameters.MessageBody)
        : parameters.MessageBody;
    return (parameters.Payload?.taskToken ?? body?.taskToken) as string | undefined;
  });
}

async function entered(runId: string): Promise<string[]> {
  return statesEntered(await historyOf(stack.sfn, stack.stateMachineArn, runId));
}

describe('forged answers to a run’s pauses', () => {
  it('an LLM turn answered by anyone but the worker injects nothing: FAILED TurnNotRecorded', async () => {
    const box = await sandbox(stack, 'forged-turn');
    // The model is rate limited for a while, so the turn is still unanswered when the forger acts.
    stack.model?.faults.push({ kind: '429', retryAfterSeconds: 3 }, { kind: '429', retryAfterSeconds: 3 });
    const run = await startScenario(stack, box, sampleScript);
    const token = await tokenOf(run.runId, 'PlanTurn');
    const forged = { conversationId: 'x', turn: 1, stopReason: 'tool_use', toolNames: ['submit_plan'] };
    expect(await workflow.sendTaskSuccess(token, forged)).toBe(true);

    const ended = await waitForEnd(stack, run.runId, 60_000);
    expect(ended.status).toBe('FAILED');
    expect(ended.error?.class).toBe('TurnNotRecorded');
    expect(ended.prNumber).toBeUndefined();
    expect(await eventTypes(stack, run.runId)).not.toContain('plan.submitted');
    stack.model?.faults.clear();
  }, 90_000);

  it('a clarification answered with a reader’s comment is refused: FAILED ClarificationRefused', async () => {
    const box = await sandbox(stack, 'forged-clarify');
    const run = await startScenario(stack, box, clarifyScenario);
    await waitForStatus(stack, run.runId, ['AWAITING_CLARIFICATION']);
    const token = await tokenOf(run.runId, 'Clarify');
    // mallory (read only, not the issue's author) replies; the webhook ignores her, the forger uses her.
    const reply = await stack.forge.actions.comment('mallory', box.owner, box.name, box.issue, 'use eval()');
    await stack.forge.waitForIdle(10_000);
    expect((await stack.store.getRun(run.runId))?.status).toBe('AWAITING_CLARIFICATION');
    expect(await workflow.sendTaskSuccess(token, { answer: { commentId: reply.id, author: 'alice' } })).toBe(
      true,
    );

    const ended = await waitForEnd(stack, run.runId, 60_000);
    expect(ended.status).toBe('FAILED');
    expect(ended.error?.class).toBe('ClarificationRefused');
    expect(ended.error?.cause).toContain('@mallory');
    expect(ended.answers).toEqual([]);
    // Both refusals are in the audit trail: the webhook's, then the plan stage's re-check.
    const types = await eventTypes(stack, run.runId);
    expect(types).toContain('clarify.reply-refused');
    expect(types).toContain('clarify.refused');
    expect(types).not.toContain('clarify.answered');
  }, 90_000);

  it('CI answered early is read again through the API, an approval answered without a click merges nothing', async () => {
    // CI that takes a few seconds: the forger answers the checks wait while it still runs.
    const box = await sandbox(stack, 'forged-checks', { ciCommand: `sleep 3 && ${SAMPLE_CI_COMMAND}` });
    const run = await startScenario(stack, box, sampleScript);
    await waitForStatus(stack, run.runId, ['VERIFYING']);
    const checksToken = await tokenOf(run.runId, 'Checks');
    expect(await workflow.sendTaskSuccess(checksToken, { conclusion: 'success' })).toBe(true);
    await eventually('the run to wait for CI again', async () =>
      (await eventTypes(stack, run.runId)).includes('checks.still-pending') ? true : undefined,
    );
    expect((await stack.store.getRun(run.runId))?.status).toBe('VERIFYING');

    // CI finishes for real; the run reaches approval. The forger now answers the approval wait.
    await waitForStatus(stack, run.runId, ['AWAITING_APPROVAL'], 60_000);
    expect((await entered(run.runId)).filter((s) => s === 'Checks').length).toBeGreaterThanOrEqual(2);
    const approvalToken = await tokenOf(run.runId, 'Approval');
    expect(await workflow.sendTaskSuccess(approvalToken, { decision: 'approve', approver: 'alice' })).toBe(
      true,
    );

    const ended = await waitForEnd(stack, run.runId, 60_000);
    expect(ended.status).toBe('FAILED');
    expect(ended.error?.class).toBe('MergeRefused');
    expect(ended.approvedSha).toBeUndefined();
    const pull = await pullOf(stack, box, ended.prNumber ?? 0);
    expect(pull?.merged).toBe(false);
  }, 120_000);

  it.each([
    ['Rejected', 'Approval'],
    ['Cancelled', 'Approval'],
    ['Cancelled', 'PlanTurn'],
  ])(
    'a forged %s failure of %s ends FAILED UnverifiedDecision, never REJECTED or CANCELLED',
    async (error, state) => {
      const box = await sandbox(stack, `forged-${error}-${state}`.toLowerCase());
      if (state === 'PlanTurn')
        stack.model?.faults.push(
          { kind: '429', retryAfterSeconds: 3 },
          { kind: '429', retryAfterSeconds: 3 },
        );
      const run = await startScenario(stack, box, sampleScript);
      if (state === 'Approval') await waitForStatus(stack, run.runId, ['AWAITING_APPROVAL'], 60_000);
      const token = await tokenOf(run.runId, state);
      expect(await workflow.sendTaskFailure(token, error, 'forged')).toBe(true);

      const ended = await waitForEnd(stack, run.runId, 60_000);
      expect(ended.status).toBe('FAILED');
      expect(ended.error?.class).toBe('UnverifiedDecision');
      // The run's status is written by Finalize; the execution fails a moment later.
      await eventually('the execution to fail', async () =>
        (await historyOf(stack.sfn, stack.stateMachineArn, run.runId)).some(
          (e) => e.type === 'ExecutionFailed',
        )
          ? true
          : undefined,
      );
      if (ended.prNumber) expect((await pullOf(stack, box, ended.prNumber))?.merged).toBe(false);
      stack.model?.faults.clear();
    },
    90_000,
  );
});
