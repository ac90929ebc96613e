import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsQueue } from '../../../functions/shared/adapters/queue';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { createQueues, type SqsEmulator, startSqs } from '../../../local/emulators/sqs';

let sqs: SqsEmulator;
let client: SQSClient;

beforeAll(async () => {
  sqs = await startSqs();
  client = new SQSClient({ endpoint: sqs.endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
});

afterAll(async () => {
  client?.destroy();
  await sqs?.close();
});

async function receiveOne(queueUrl: string, visibilityTimeout?: number) {
  const { Messages } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      ...(visibilityTimeout === undefined ? {} : { VisibilityTimeout: visibilityTimeout }),
    }),
  );
  return Messages?.[0];
}

describe('local SQS (fauxqs) through the real SQS client', () => {
  it('keeps what each queue was sent (SendMessage and SendMessageBatch), by queue name', async () => {
    const queues = await createQueues(sqs.endpoint, {
      name: 'tapped',
      dlqName: 'tapped-dlq',
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 1,
    });
    await new SqsQueue(client, queues.queueUrl).send({ turn: 1 });
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'two' },
          { Id: 'b', MessageBody: 'three' },
        ],
      }),
    );
    expect(sqs.sent('tapped')).toEqual([JSON.stringify({ turn: 1 }), 'two', 'three']);
    expect(sqs.sent('tapped-dlq')).toEqual([]);
    // Receiving does not change what was sent.
    expect(await receiveOne(queues.queueUrl)).toBeDefined();
    expect(sqs.sent('tapped')).toHaveLength(3);
  });

  it('listens on loopback and names queues by its loopback endpoint', async () => {
    expect(sqs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const queues = await createQueues(sqs.endpoint, {
      name: 'names',
      dlqName: 'names-dlq',
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 1,
    });
    // A client configured only by AWS_ENDPOINT_URL_SQS sends to the QueueUrl's host: it must resolve.
    expect(queues.queueUrl).toBe(`${sqs.endpoint}/000000000000/names`);
    expect(queues.dlqArn).toBe('arn:aws:sqs:us-east-1:000000000000:names-dlq');
  });

  it('sends, receives and deletes', async () => {
    const { queueUrl } = await createQueues(sqs.endpoint, {
      name: 'basic',
      dlqName: 'basic-dlq',
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 1,
    });
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"n":1}' }));
    const message = await receiveOne(queueUrl);
    expect(message?.Body).toBe('{"n":1}');
    expect(message?.Attributes?.ApproximateReceiveCount).toBe('1');
    await client.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle }),
    );
    // Even once the 1 s visibility timeout has passed, a deleted message never comes back.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await receiveOne(queueUrl)).toBeUndefined();
  });

  it('moves a message to the DLQ on the receive after maxReceiveCount', async () => {
    const { queueUrl, dlqUrl } = await createQueues(sqs.endpoint, {
      name: 'redrive',
      dlqName: 'redrive-dlq',
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 1,
    });
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));
    // VisibilityTimeout 0 makes each receive count without waiting for the timeout.
    expect((await receiveOne(queueUrl, 0))?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect((await receiveOne(queueUrl, 0))?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(await receiveOne(queueUrl, 0)).toBeUndefined();
    const dead = await receiveOne(dlqUrl);
    expect(dead?.Body).toBe('poison');
  });

  it('SqsQueue sends JSON with a delay and changes a received message visibility', async () => {
    const { queueUrl } = await createQueues(sqs.endpoint, {
      name: 'adapter',
      dlqName: 'adapter-dlq',
      maxReceiveCount: 5,
      visibilityTimeoutSeconds: 30,
    });
    const queue = new SqsQueue(client, queueUrl);
    await queue.send({ runId: 'r1', turn: 2 }, { delaySeconds: 1 });
    expect(await receiveOne(queueUrl)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const message = await receiveOne(queueUrl);
    expect(JSON.parse(message?.Body ?? 'null')).toEqual({ runId: 'r1', turn: 2 });
    // Without the change it would stay hidden for the queue's 30 s.
    await queue.changeVisibility(message?.ReceiptHandle ?? '', 0);
    expect((await receiveOne(queueUrl))?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('answers a missing queue with the SDK exception class', async () => {
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: `${sqs.endpoint}/000000000000/nope`,
          ReceiptHandle: 'x',
          VisibilityTimeout: 1,
        }),
      ),
    ).rejects.toMatchObject({ name: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/) });
  });
});
