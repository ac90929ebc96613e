import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { LlmQueueSettings } from '../llm-queue-settings';

export interface LlmQueuesProps {
  /** The queues' and consumers' settings (lib/llm-queue-settings.ts), shared with the embedded stack. */
  settings: LlmQueueSettings;
  /** A customer managed key; undefined = SQS managed encryption (SSE-SQS). */
  encryptionKey?: kms.IKey;
}

/**
 * The LLM queue (the state machine sends each LLM turn to it with its task token; the LLM worker
 * consumes it) and its DLQ (consumed by the DLQ handler, which fails the task token so no execution hangs). Both
 * encrypted and TLS-only (`enforceSSL` adds a deny on aws:SecureTransport=false).
 */
export class LlmQueues extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly settings: LlmQueueSettings;

  constructor(scope: Construct, id: string, props: LlmQueuesProps) {
    super(scope, id);
    this.settings = props.settings;
    const { queue, deadLetter } = props.settings;
    const encryption = props.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(deadLetter.retentionDays),
      visibilityTimeout: Duration.seconds(deadLetter.visibilityTimeoutSeconds),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(queue.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(queue.retentionDays),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: queue.maxReceiveCount },
    });
  }
}
