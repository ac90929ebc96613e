import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Queue } from '../ports';

/** SQS limits: DelaySeconds 0–900, VisibilityTimeout 0–43200 (12 h). */
const MAX_DELAY_SECONDS = 900;
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * One SQS queue behind the Queue port. Bodies are JSON. Delays and visibility timeouts are whole
 * seconds rounded up (a retry-after of 1.2 s must not come back early) and capped at SQS's
 * maxima, so a huge retry-after delays as long as SQS allows instead of failing the call.
 */
export class SqsQueue implements Queue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: unknown, options: { delaySeconds?: number } = {}): Promise<void> {
    const messageBody = JSON.stringify(body);
    if (messageBody === undefined) throw new TypeError('queue message body must be JSON-serialisable');
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: messageBody,
        ...(options.delaySeconds === undefined
          ? {}
          : { DelaySeconds: wholeSeconds(options.delaySeconds, MAX_DELAY_SECONDS, 'delaySeconds') }),
      }),
    );
  }

  async changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: wholeSeconds(
          visibilityTimeoutSeconds,
          MAX_VISIBILITY_SECONDS,
          'visibilityTimeoutSeconds',
        ),
      }),
    );
  }
}

function wholeSeconds(value: number, max: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0`);
  return Math.min(Math.ceil(value), max);
}
