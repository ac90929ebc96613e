import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import {
  type EventSourceMapping,
  type EventSourceOptions,
  failedItemIds,
  type SqsHandler,
  startEventSource,
} from '../../../local/emulators/event-source';
import { createQueues, type QueuePair, type SqsEmulator, startSqs } from '../../../local/emulators/sqs';

let sqs: SqsEmulator;
let client: SQSClient;
const mappings: EventSourceMapping[] = [];
let queueCount = 0;

beforeAll(async () => {
  sqs = await startSqs();
  client = new SQSClient({ endpoint: sqs.endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
});

afterEach(async () => {
  await Promise.all(mappings.splice(0).map((mapping) => mapping.stop()));
});

afterAll(async () => {
  client?.destroy();
  await sqs?.close();
});

async function newQueues(maxReceiveCount = 5): Promise<QueuePair> {
  queueCount++;
  return createQueues(sqs.endpoint, {
    name: `events-${queueCount}`,
    dlqName: `events-${queueCount}-dlq`,
    maxReceiveCount,
    visibilityTimeoutSeconds: 1,
  });
}

async function sendAll(queueUrl: string, bodies: string[]): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    const Entries = bodies
      .slice(start, start + 10)
      .map((body, index) => ({ Id: `m${start + index}`, MessageBody: body }));
    const { Failed } = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
    expect(Failed ?? []).toEqual([]);
  }
}

function map(
  queues: QueuePair,
  handler: SqsHandler,
  options: Partial<EventSourceOptions> = {},
): EventSourceMapping {
  const mapping = startEventSource({
    client,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    handler,
    waitTimeSeconds: 1,
    ...options,
  });
  mappings.push(mapping);
  return mapping;
}

/** Polls `check` every 25 ms until it holds; fails after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function queueIsEmpty(queueUrl: string): Promise<boolean> {
  const { Messages } = await client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0, VisibilityTimeout: 0 }),
  );
  return (Messages ?? []).length === 0;
}

describe('event source poller (Lambda SQS event source mapping)', () => {
  it('invokes with a real SQSEvent and a context, and deletes a successful batch', async () => {
    const queues = await newQueues();
    await client.send(
      new SendMessageCommand({
        QueueUrl: queues.queueUrl,
        MessageBody: '{"turn":1}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'llm' } },
      }),
    );
    await sendAll(queues.queueUrl, ['b', 'c']);
    const events: SQSEvent[] = [];
    let remaining = -1;
    const mapping = map(
      queues,
      async (event, context) => {
        events.push(event);
        remaining = context.getRemainingTimeInMillis();
      },
      { functionTimeoutMs: 5_000, batchSize: 10, maximumConcurrency: 1 },
    );
    await until(() => events.flatMap((event) => event.Records).length === 3);
    await mapping.stop();
    const records = events.flatMap((event) => event.Records);
    const first = records.find((record) => record.body === '{"turn":1}');
    expect(first).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queues.queueArn,
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String) },
      messageAttributes: { kind: { dataType: 'String', stringValue: 'llm' } },
    });
    expect(first?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(first?.receiptHandle).toBeTruthy();
    expect(remaining).toBeGreaterThan(4_000);
    expect(remaining).toBeLessThanOrEqual(5_000);
    expect(mapping.stats()).toMatchObject({ deleted: 3, retried: 0 });
    // After the 1 s visibility timeout nothing comes back: the batch was deleted.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await queueIsEmpty(queues.queueUrl)).toBe(true);
  });

  it('redelivers only the reported batch item failures', async () => {
    const queues = await newQueues();
    await sendAll(queues.queueUrl, ['ok-1', 'fail', 'ok-2']);
    const seen: Array<{ body: string; count: string }> = [];
    map(
      queues,
      async (event): Promise<SQSBatchResponse> => {
        const failures: SQSBatchResponse['batchItemFailures'] = [];
        for (const record of event.Records) {
          seen.push({ body: record.body, count: record.attributes.ApproximateReceiveCount });
          if (record.body === 'fail' && record.attributes.ApproximateReceiveCount === '1') {
            failures.push({ itemIdentifier: record.messageId });
          }
        }
        return { batchItemFailures: failures };
      },
      { maximumConcurrency: 1 },
    );
    await until(() => seen.some((entry) => entry.body === 'fail' && entry.count === '2'));
    // Stay past another visibility timeout: the successful ones were deleted and never return.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(seen.filter((entry) => entry.body === 'ok-1')).toEqual([{ body: 'ok-1', count: '1' }]);
    expect(seen.filter((entry) => entry.body === 'ok-2')).toEqual([{ body: 'ok-2', count: '1' }]);
    expect(seen.filter((entry) => entry.body === 'fail').map((entry) => entry.count)).toEqual(['1', '2']);
  });

  it('fails the whole batch when an itemIdentifier is unknown', async () => {
    const queues = await newQueues();
    await sendAll(queues.queueUrl, ['a', 'b']);
    const deliveries = new Map<string, number>();
    const problems: string[] = [];
    let invocations = 0;
    map(
      queues,
      async (event) => {
        invocations++;
        for (const record of event.Records)
          deliveries.set(record.body, (deliveries.get(record.body) ?? 0) + 1);
        return invocations === 1
          ? { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] }
          : undefined;
      },
      { maximumConcurrency: 1, onError: (problem) => problems.push(problem.kind) },
    );
    await until(() => (deliveries.get('a') ?? 0) >= 2 && (deliveries.get('b') ?? 0) >= 2);
    expect(problems).toContain('invalid-response');
  });

  it('redelivers every message of a batch whose handler threw, after the visibility timeout', async () => {
    const queues = await newQueues();
    await sendAll(queues.queueUrl, ['x', 'y']);
    const receipts: Array<{ body: string; count: string; at: number }> = [];
    const started = Date.now();
    let calls = 0;
    const mapping = map(
      queues,
      async (event) => {
        calls++;
        for (const record of event.Records) {
          receipts.push({
            body: record.body,
            count: record.attributes.ApproximateReceiveCount,
            at: Date.now(),
          });
        }
        if (calls === 1) throw new Error('boom');
      },
      { maximumConcurrency: 1 },
    );
    await until(() => receipts.filter((receipt) => receipt.count === '2').length === 2);
    const redelivered = receipts.filter((receipt) => receipt.count === '2');
    expect(redelivered.map((receipt) => receipt.body).sort()).toEqual(['x', 'y']);
    for (const receipt of redelivered) expect(receipt.at - started).toBeGreaterThanOrEqual(900);
    await until(() => mapping.stats().deleted === 2);
    expect(mapping.stats().retried).toBe(2);
  });

  it('keeps a visibility the handler set before reporting the message as failed (retry-after)', async () => {
    const queues = await newQueues();
    await sendAll(queues.queueUrl, ['rate-limited']);
    const receivedAt: number[] = [];
    map(
      queues,
      async (event: SQSEvent): Promise<SQSBatchResponse> => {
        receivedAt.push(Date.now());
        const record = event.Records[0] as SQSRecord;
        if (receivedAt.length > 1) return { batchItemFailures: [] };
        await client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queues.queueUrl,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: 3,
          }),
        );
        return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
      },
      { maximumConcurrency: 1 },
    );
    await until(() => receivedAt.length === 2);
    const [first = 0, second = 0] = receivedAt;
    // The queue's own timeout is 1 s: a reset would bring it back well before 3 s.
    expect(second - first).toBeGreaterThanOrEqual(2_800);
  });

  it('sends a message to the DLQ after maxReceiveCount failed deliveries', async () => {
    const queues = await newQueues(2);
    await sendAll(queues.queueUrl, ['poison']);
    let attempts = 0;
    map(
      queues,
      async () => {
        attempts++;
        throw new Error('always fails');
      },
      { maximumConcurrency: 1 },
    );
    let dead: string | undefined;
    await until(() => attempts >= 2);
    const deadline = Date.now() + 8_000;
    while (!dead && Date.now() < deadline) {
      const { Messages } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queues.dlqUrl,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      dead = Messages?.[0]?.Body;
    }
    expect(dead).toBe('poison');
    expect(attempts).toBe(2);
  });

  it('never runs more than maximumConcurrency invocations at once', async () => {
    const queues = await newQueues();
    await sendAll(
      queues.queueUrl,
      Array.from({ length: 12 }, (_, index) => `job-${index}`),
    );
    let active = 0;
    let maxActive = 0;
    let done = 0;
    map(
      queues,
      async (event) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 80));
        active--;
        done += event.Records.length;
      },
      { maximumConcurrency: 3, batchSize: 1 },
    );
    await until(() => done === 12);
    expect(maxActive).toBe(3);
  });

  it('times out a handler past functionTimeoutMs and redelivers its batch', async () => {
    const queues = await newQueues();
    await sendAll(queues.queueUrl, ['slow']);
    const counts: string[] = [];
    const problems: string[] = [];
    map(
      queues,
      async (event) => {
        const record = event.Records[0] as SQSRecord;
        counts.push(record.attributes.ApproximateReceiveCount);
        if (counts.length === 1) await new Promise((resolve) => setTimeout(resolve, 600));
      },
      { maximumConcurrency: 1, functionTimeoutMs: 200, onError: (problem) => problems.push(problem.kind) },
    );
    await until(() => counts.length === 2);
    expect(counts).toEqual(['1', '2']);
    expect(problems).toContain('timeout');
  });

  it('keeps maximumConcurrency even when handlers outlive their timeout (no pile-up)', async () => {
    const queues = await newQueues();
    await sendAll(
      queues.queueUrl,
      Array.from({ length: 4 }, (_, index) => `hung-${index}`),
    );
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    map(
      queues,
      async () => {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        // Outlives the 100 ms function timeout and the queue's visibility: Lambda would kill it.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        active--;
      },
      { maximumConcurrency: 2, batchSize: 1, functionTimeoutMs: 100 },
    );
    await until(() => calls >= 4, 15_000);
    expect(maxActive).toBeLessThanOrEqual(2);
  }, 20_000);

  it('stop() drains the invocation in flight, then polls no more', async () => {
    const queues = await newQueues();
    await sendAll(queues.queueUrl, ['in-flight']);
    let started = false;
    let finished = false;
    let calls = 0;
    const mapping = map(
      queues,
      async () => {
        calls++;
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished = true;
      },
      { maximumConcurrency: 2 },
    );
    await until(() => started);
    const stopping = Date.now();
    await mapping.stop();
    expect(finished).toBe(true);
    expect(mapping.stats().deleted).toBe(1);
    // Bounded: the in-flight 300 ms plus at most one 1 s long poll.
    expect(Date.now() - stopping).toBeLessThan(2_500);
    await sendAll(queues.queueUrl, ['after-stop']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toBe(1);
    await mapping.stop();
  });
});

describe('failedItemIds (ReportBatchItemFailures rules)', () => {
  const records = [{ messageId: 'a' }, { messageId: 'b' }] as SQSRecord[];
  it('treats no response or an empty list as full success', () => {
    expect(failedItemIds(undefined, records)).toEqual(new Set());
    expect(failedItemIds({ batchItemFailures: [] }, records)).toEqual(new Set());
  });
  it('returns the named ids', () => {
    expect(failedItemIds({ batchItemFailures: [{ itemIdentifier: 'b' }] }, records)).toEqual(new Set(['b']));
  });
  it('fails the whole batch on an empty, unknown or malformed identifier', () => {
    expect(failedItemIds({ batchItemFailures: [{ itemIdentifier: '' }] }, records)).toBe('invalid');
    expect(failedItemIds({ batchItemFailures: [{ itemIdentifier: 'zzz' }] }, records)).toBe('invalid');
    expect(failedItemIds({ batchItemFailures: [{}] }, records)).toBe('invalid');
    expect(failedItemIds({ batchItemFailures: 'b' }, records)).toBe('invalid');
    expect(failedItemIds('nonsense', records)).toBe('invalid');
  });
});
