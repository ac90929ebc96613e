import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsQueue } from '../../../functions/shared/adapters/queue';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/llm';
const sqsMock = mockClient(SQSClient);

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
});

function queue(): SqsQueue {
  return new SqsQueue(new SQSClient({ region: 'us-east-1' }), QUEUE_URL);
}

describe('SqsQueue', () => {
  it('sends the body as JSON to its queue, without DelaySeconds unless asked', async () => {
    await queue().send({ runId: 'r1', turn: 3 });
    const calls = sqsMock.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ QueueUrl: QUEUE_URL, MessageBody: '{"runId":"r1","turn":3}' });
  });

  it('rounds a delay up to whole seconds and caps it at 900', async () => {
    await queue().send({ a: 1 }, { delaySeconds: 1.2 });
    await queue().send({ a: 2 }, { delaySeconds: 5_000 });
    const delays = sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input.DelaySeconds);
    expect(delays).toEqual([2, 900]);
  });

  it('refuses a body JSON cannot represent and a negative delay, without calling SQS', async () => {
    await expect(queue().send(undefined)).rejects.toThrow(TypeError);
    await expect(queue().send({}, { delaySeconds: -1 })).rejects.toThrow(RangeError);
    await expect(queue().send({}, { delaySeconds: Number.NaN })).rejects.toThrow(RangeError);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('changes a message visibility in whole seconds, capped at 12 hours', async () => {
    await queue().changeVisibility('handle-1', 30.1);
    await queue().changeVisibility('handle-2', 100_000);
    const inputs = sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input);
    expect(inputs).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'handle-1', VisibilityTimeout: 31 },
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'handle-2', VisibilityTimeout: 43_200 },
    ]);
  });

  it('passes SQS errors through', async () => {
    sqsMock
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'RequestThrottled' }));
    await expect(queue().send({ a: 1 })).rejects.toMatchObject({ name: 'RequestThrottled' });
  });
});
