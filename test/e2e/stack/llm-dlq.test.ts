import { randomUUID } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import type { Stack } from '../../../local/stack';
import { eventually, firstRun, labelIssue, sleep, startTestStack, waitForEnd } from '../../support/e2e';

/**
 * Issue 6, the paths where no model answer ever comes: a message whose every call fails goes to
 * the DLQ after maxReceiveCount receives and its task fails with LlmUnavailable, so the run ends
 * FAILED instead of hanging; a message whose task token is unknown or expired is logged and
 * acknowledged, never redelivered and never dead-lettered. The stack's LLM queue is made short
 * (one receive) so this takes seconds.
 */

describe('LLM queue dead letters and stale tokens on the embedded stack', () => {
  let stack: Stack;
  let sqs: SQSClient;
  let queueUrl: string;
  let dlqUrl: string;
  let output: string[];
  let spies: MockInstance[] = [];

  const depth = async (url: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  };

  beforeAll(async () => {
    stack = await startTestStack({ llmQueue: { maxReceiveCount: 1, visibilityTimeoutSeconds: 5 } });
    sqs = new SQSClient({
      endpoint: stack.endpoints.sqs,
      region: LOCAL_REGION,
      credentials: FAKE_CREDENTIALS,
    });
    queueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'code-factory-llm' }))).QueueUrl ?? '';
    dlqUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'code-factory-llm-dlq' }))).QueueUrl ?? '';
  });

  afterEach(() => {
    for (const spy of spies) spy.mockRestore();
    spies = [];
    stack.model?.reset();
  });

  afterAll(async () => {
    sqs?.destroy();
    await stack?.stop();
  });

  /** Captures the handlers' log lines (Powertools writes JSON lines to stdout/stderr). */
  const captureLogs = () => {
    output = [];
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      spies.push(
        vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
          output.push(String(chunk));
          return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof stream.write),
      );
    }
  };

  it('a poisoned turn (the model fails every call) is dead-lettered, its task fails LlmUnavailable, the run ends FAILED', async () => {
    const model = stack.model;
    if (!model) throw new Error('the stack has no model stand-in');
    model.faults.push(...Array.from({ length: 10 }, () => '500' as const));
    await labelIssue(stack);
    const { runId } = await firstRun(stack);
    const run = await waitForEnd(stack, runId, 40_000);
    expect(run.status).toBe('FAILED');
    expect(run.error?.class).toBe('LlmUnavailable');
    // One receive allowed: exactly one model call, answered 500; nothing was charged.
    const calls = model.calls().filter((c) => c.path === '/v1/messages');
    expect(calls.map((c) => c.status)).toEqual([500]);
    expect(run.ledger.llmCalls).toBe(0);
    // Nothing is left behind in either queue.
    await eventually(
      'both queues to drain',
      async () => (await depth(queueUrl)) + (await depth(dlqUrl)) === 0,
      10_000,
    );
  }, 50_000);

  it('messages with an unknown or an expired task token are logged and acknowledged, not redelivered', async () => {
    const [ended] = (await stack.store.listRunsByRepo('acme/widgets', { limit: 1 })).items;
    expect(ended?.status).toBe('FAILED');
    captureLogs();
    const unknown = {
      taskToken: randomUUID(),
      runId: ulid(),
      stage: 'plan',
      conversationId: ulid(),
      turn: 1,
      modelAlias: 'planner',
    };
    // Expired: the ended run's own LLM message, as Step Functions sent it (its token now spent).
    const history = await stack.sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${ended?.runId}`,
        maxResults: 1000,
      }),
    );
    const scheduled = history.events?.find((e) =>
      e.taskScheduledEventDetails?.resource?.startsWith('sendMessage'),
    )?.taskScheduledEventDetails?.parameters;
    const messageBody: unknown = JSON.parse(scheduled ?? '{}').MessageBody;
    const expired = (
      typeof messageBody === 'string' ? JSON.parse(messageBody) : messageBody
    ) as typeof unknown;
    expect(expired).toMatchObject({ runId: ended?.runId, turn: 1, modelAlias: 'planner' });
    for (const body of [unknown, expired])
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));

    await eventually(
      'both stale messages to be logged as acknowledged',
      async () =>
        output.filter((line) => /task token no longer accepted/.test(line)).length >= 2 ? true : undefined,
      15_000,
    );
    // Past the 5 s visibility timeout: a message not acknowledged would be back, or in the DLQ.
    await sleep(6_000);
    expect(await depth(queueUrl)).toBe(0);
    expect(await depth(dlqUrl)).toBe(0);
    // Neither was worth a model call, and the stale tokens were not echoed in the logs.
    expect(stack.model?.calls().filter((c) => c.path === '/v1/messages')).toEqual([]);
    const logged = output.join('');
    expect(logged).not.toContain(unknown.taskToken);
    expect(logged).not.toContain(expired.taskToken);
  }, 40_000);
});
