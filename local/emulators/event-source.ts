import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';
import { LOCAL_REGION } from './dynamodb';
import { lambdaContext } from './stepfunctions/integrations';

/** As aws-lambda's SQSHandler, promise style: `async (event) => {}` must fit, hence `void`. */
// biome-ignore lint/suspicious/noConfusingVoidType: mirrors Handler<SQSEvent, SQSBatchResponse | void>
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined | void>;

export interface EventSourceOptions {
  client: SQSClient;
  queueUrl: string;
  /** The record's eventSourceARN. */
  queueArn: string;
  handler: SqsHandler;
  /** Messages per invocation, 1–10 (a standard queue's ReceiveMessage maximum). Default 10. */
  batchSize?: number;
  /** Concurrent handler invocations at most (the mapping's ScalingConfig.MaximumConcurrency). Default 2. */
  maximumConcurrency?: number;
  /** Long-poll wait per ReceiveMessage, 0–20 s. Short, so that stop() is prompt. Default 1. */
  waitTimeSeconds?: number;
  /** The function timeout: context.getRemainingTimeInMillis() counts down from it. Default 60 s. */
  functionTimeoutMs?: number;
  functionName?: string;
  /** Told about failed batches, timeouts and poll errors (names and ids only, never bodies). */
  onError?: (problem: EventSourceProblem) => void;
}

export interface EventSourceProblem {
  kind: 'handler-error' | 'timeout' | 'invalid-response' | 'receive-error' | 'delete-error';
  message: string;
  messageIds: string[];
}

export interface EventSourceStats {
  invocations: number;
  /** Messages deleted after a successful (or partly successful) invocation. */
  deleted: number;
  /** Messages left on the queue to be redelivered after their visibility timeout. */
  retried: number;
}

export interface EventSourceMapping {
  stats(): EventSourceStats;
  /** Stops polling, waits for the invocations in flight and their deletes. Idempotent. */
  stop(): Promise<void>;
}

const MAX_RECEIVE_BACKOFF_MS = 5_000;

/**
 * Plays Lambda's SQS event source mapping over the real SQS API: `maximumConcurrency` pollers
 * each receive a batch, invoke the handler with a real SQSEvent and a Lambda-like context, and
 * settle the batch the way Lambda does with FunctionResponseTypes ['ReportBatchItemFailures'] (as
 * the deployment's mappings are configured):
 * - success → all but the reported failures deleted; an empty, unknown or malformed
 *   itemIdentifier (or an unparseable response) fails the whole batch, as on AWS;
 * - thrown error or timeout → nothing deleted: the batch reappears after the visibility timeout.
 * Failed messages are left untouched: a handler that moved a message's visibility (429
 * retry-after) keeps that delay. maxReceiveCount → DLQ is done by SQS itself (the RedrivePolicy).
 */
export function startEventSource(options: EventSourceOptions): EventSourceMapping {
  const batchSize = integerIn(options.batchSize ?? 10, 1, 10, 'batchSize');
  const concurrency = integerIn(options.maximumConcurrency ?? 2, 1, 1000, 'maximumConcurrency');
  const waitTimeSeconds = integerIn(options.waitTimeSeconds ?? 1, 0, 20, 'waitTimeSeconds');
  const timeoutMs = integerIn(options.functionTimeoutMs ?? 60_000, 1, 900_000, 'functionTimeoutMs');
  const functionArn = `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${options.functionName ?? 'local-sqs-consumer'}`;
  const report = (problem: EventSourceProblem) => {
    try {
      options.onError?.(problem);
    } catch {
      // A failing observer must not stop the poller.
    }
  };
  const stats: EventSourceStats = { invocations: 0, deleted: 0, retried: 0 };

  const stop = new AbortController();
  const sleep = (ms: number) => delay(ms, undefined, { signal: stop.signal }).catch(() => undefined);
  const stopRequested = once(stop.signal, 'abort');

  async function receive(): Promise<Message[]> {
    const output = await options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: batchSize,
        WaitTimeSeconds: waitTimeSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return output.Messages ?? [];
  }

  async function invoke(records: SQSRecord[]): Promise<{ ok: true; response: unknown } | { ok: false }> {
    const context = lambdaContext(functionArn, Date.now() + timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    stats.invocations++;
    const running = options.handler({ Records: records }, context);
    try {
      // Lambda would kill a function at its timeout. A promise cannot be killed: the batch counts
      // as failed at once, and this poller's slot stays taken until the handler really ends, so
      // maximumConcurrency still bounds what runs (until stop() is asked for).
      const outcome = await Promise.race([running, timedOut]);
      if (outcome === 'timeout') {
        report({ kind: 'timeout', message: `handler exceeded ${timeoutMs} ms`, messageIds: ids(records) });
        await Promise.race([running.catch(() => undefined), stopRequested]);
        return { ok: false };
      }
      return { ok: true, response: outcome };
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      report({ kind: 'handler-error', message: `handler threw ${name}`, messageIds: ids(records) });
      return { ok: false };
    } finally {
      clearTimeout(timer);
    }
  }

  async function deleteMessages(records: SQSRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const output = await options.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: records.map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
          })),
        }),
      );
      const failed = output.Failed ?? [];
      stats.deleted += records.length - failed.length;
      if (failed.length > 0) {
        const failedIds = failed.map((entry) => records[Number(entry.Id)]?.messageId ?? `#${entry.Id}`);
        report({
          kind: 'delete-error',
          message: 'DeleteMessageBatch failed for some entries',
          messageIds: failedIds,
        });
      }
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      report({ kind: 'delete-error', message: `DeleteMessageBatch threw ${name}`, messageIds: ids(records) });
    }
  }

  async function processBatch(messages: Message[]): Promise<void> {
    // A message without id or handle cannot be reported or deleted; SQS always sends both.
    const records = messages
      .filter((message) => message.MessageId && message.ReceiptHandle)
      .map((message) => toRecord(message, options.queueArn));
    if (records.length === 0) return;
    const result = await invoke(records);
    if (!result.ok) {
      stats.retried += records.length;
      return;
    }
    const failedIds = failedItemIds(result.response, records);
    if (failedIds === 'invalid') {
      report({
        kind: 'invalid-response',
        message: 'batchItemFailures named an unknown or empty itemIdentifier: whole batch failed',
        messageIds: ids(records),
      });
      stats.retried += records.length;
      return;
    }
    stats.retried += failedIds.size;
    await deleteMessages(records.filter((record) => !failedIds.has(record.messageId)));
  }

  async function pollLoop(): Promise<void> {
    let backoffMs = 100;
    while (!stop.signal.aborted) {
      let messages: Message[];
      try {
        messages = await receive();
        backoffMs = 100;
      } catch (error) {
        if (stop.signal.aborted) return;
        const name = error instanceof Error ? error.name : 'Error';
        report({ kind: 'receive-error', message: `ReceiveMessage threw ${name}`, messageIds: [] });
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, MAX_RECEIVE_BACKOFF_MS);
        continue;
      }
      // Messages received while stopping are still processed: dropping them would hide them
      // for a whole visibility timeout.
      if (messages.length > 0) await processBatch(messages);
      else if (waitTimeSeconds === 0) await sleep(50);
    }
  }

  const loops = Array.from({ length: concurrency }, () => pollLoop());
  let stopped: Promise<void> | undefined;

  return {
    stats: () => ({ ...stats }),
    stop() {
      stop.abort();
      stopped ??= Promise.all(loops).then(() => undefined);
      return stopped;
    },
  };
}

/**
 * The failed message ids of a ReportBatchItemFailures response, or 'invalid' when Lambda would
 * fail the whole batch. No response (or one without batchItemFailures) means full success.
 */
export function failedItemIds(response: unknown, records: SQSRecord[]): Set<string> | 'invalid' {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object') return 'invalid';
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'invalid';
  const known = new Set(records.map((record) => record.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !known.has(id)) return 'invalid';
    failed.add(id);
  }
  return failed;
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const system = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
    SentTimestamp: system.SentTimestamp ?? String(Date.now()),
    SenderId: system.SenderId ?? '000000000000',
    ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const optional of [
    'AWSTraceHeader',
    'SequenceNumber',
    'MessageGroupId',
    'MessageDeduplicationId',
    'DeadLetterQueueSourceArn',
  ] as const) {
    const value = system[optional];
    if (value !== undefined) attributes[optional] = value;
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes: toRecordMessageAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

/** SQS API shape → Lambda event shape (camelCase keys, binary values base64). */
function toRecordMessageAttributes(source: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const base64 = (value: Uint8Array) => Buffer.from(value).toString('base64');
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(source)) {
    result[name] = {
      dataType: value.DataType ?? 'String',
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map(base64),
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
    };
  }
  return result;
}

function ids(records: SQSRecord[]): string[] {
  return records.map((record) => record.messageId);
}

function integerIn(value: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}
