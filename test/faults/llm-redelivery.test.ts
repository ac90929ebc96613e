import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb';
import { sampleScript } from '../../local/model/scripts';
import type { Stack } from '../../local/stack';
import { sandbox, startScenario } from '../e2e/pipeline/support';
import { eventually, startTestStack, waitForStatus } from '../support/e2e';
import { historyOf } from './support';

/**
 * Fault suite: an SQS redelivery storm on the LLM queue. Copies of a real turn message (same task
 * token, conversation and turn) arrive together while the original waits out a 429: the turn must
 * still be one model call, one ledger charge and one answer to its token.
 */

const DUPLICATES = 8;
let stack: Stack;
let sqs: SQSClient;

beforeAll(async () => {
  stack = await startTestStack();
  sqs = new SQSClient({ endpoint: stack.endpoints.sqs, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

interface LlmTask {
  queueUrl: string;
  body: { conversationId: string; turn: number; runId: string; taskToken: string };
}

/** The first LLM turn the execution queued, read from its TaskScheduled event. */
async function firstLlmTask(runId: string): Promise<LlmTask> {
  return eventually(
    'the first LLM turn to be queued',
    async () => {
      const history = await historyOf(stack.sfn, stack.stateMachineArn, runId);
      const scheduled = history.find(
        (e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.resourceType === 'sqs',
      );
      if (!scheduled?.taskScheduledEventDetails?.parameters) return undefined;
      const parameters = JSON.parse(scheduled.taskScheduledEventDetails.parameters);
      const body =
        typeof parameters.MessageBody === 'string'
          ? JSON.parse(parameters.MessageBody)
          : parameters.MessageBody;
      return { queueUrl: String(parameters.QueueUrl), body };
    },
    30_000,
    50,
  );
}

interface StormOutcome {
  task: LlmTask;
  billableCalls: number;
  ledgerEntries: number;
  runLlmCalls: number;
  charged: number;
  llmScheduled: number;
  llmSucceeded: number;
  llmFailed: number;
}
let outcome: StormOutcome | undefined;

/** Runs the storm once; both tests read its outcome. */
async function storm(): Promise<StormOutcome> {
  if (outcome) return outcome;
  const model = stack.model;
  if (!model) throw new Error('the stack runs the model stand-in');
  model.reset();
  // The original delivery meets a 429 and comes back after 3 s: the copies land meanwhile.
  model.faults.push({ kind: '429', retryAfterSeconds: 3 });
  const box = await sandbox(stack, 'storm');
  const run = await startScenario(stack, box, sampleScript);
  const task = await firstLlmTask(run.runId);
  await eventually('the original delivery to meet the 429', async () =>
    model.calls().some((c) => c.fault === '429'),
  );
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: task.queueUrl,
      Entries: Array.from({ length: DUPLICATES }, (_, i) => ({
        Id: `dup-${i}`,
        MessageBody: JSON.stringify(task.body),
      })),
    }),
  );
  const waiting = await waitForStatus(stack, run.runId, ['AWAITING_APPROVAL'], 90_000);
  const ledger = await stack.store.listLedger(run.runId);
  const history = await historyOf(stack.sfn, stack.stateMachineArn, run.runId);
  const llm = (type: string) =>
    history.filter((e) => {
      const details = e.taskScheduledEventDetails ?? e.taskSucceededEventDetails ?? e.taskFailedEventDetails;
      return e.type === type && details?.resourceType === 'sqs';
    }).length;
  outcome = {
    task,
    billableCalls: model.calls().filter((c) => c.path === '/v1/messages' && c.status === 200).length,
    // Model calls only: sandbox time has ledger entries of its own (kind `sandbox`).
    ledgerEntries: ledger.filter((e) => e.kind !== 'sandbox').length,
    runLlmCalls: waiting.ledger.llmCalls,
    charged: ledger.filter(
      (e) =>
        e.kind !== 'sandbox' && e.conversationId === task.body.conversationId && e.turn === task.body.turn,
    ).length,
    llmScheduled: llm('TaskScheduled'),
    llmSucceeded: llm('TaskSucceeded'),
    llmFailed: llm('TaskFailed'),
  };
  return outcome;
}

describe('LLM queue redelivery storm (copies of one turn message while the original waits out a 429)', () => {
  it('charges the turn once and answers every LLM task token exactly once', async () => {
    const result = await storm();
    expect(result.charged).toBe(1);
    expect(result.runLlmCalls).toBe(result.ledgerEntries);
    expect(result.llmSucceeded).toBe(result.llmScheduled);
    expect(result.llmFailed).toBe(0);
  }, 120_000);

  it('calls the model once per turn: concurrent copies never reach the model (every 200 is a charged turn)', async () => {
    const result = await storm();
    expect(result.billableCalls).toBe(result.ledgerEntries);
  }, 120_000);
});
