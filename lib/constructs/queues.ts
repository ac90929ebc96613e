import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface LlmQueuesProps {
  /** The LLM worker's Lambda timeout; the queue's visibility timeout is derived from it. */
  workerTimeout: Duration;
  /** A customer managed key; undefined = SQS managed encryption (SSE-SQS). */
  encryptionKey?: kms.IKey;
}

/** AWS's guidance for Lambda event sources: visibility ≥ 6 × the function timeout. */
export const VISIBILITY_PER_WORKER_TIMEOUT = 6;
/** The DLQ consumer only fails task tokens: a few Step Functions calls per batch. */
export const DEAD_LETTER_HANDLER_TIMEOUT = Duration.seconds(10);

/**
 * Receives before a message goes to the DLQ. Every delay the worker asks for (a 429's
 * retry-after, a 529 backoff, pacing) is a receive: ten leave room for a rate-limit storm, and
 * the turn's own timeout still bounds how long a run waits.
 */
export const MAX_RECEIVE_COUNT = 10;

/**
 * The LLM queue (the state machine sends each LLM turn to it with its task token; the LLM worker
 * consumes it) and its DLQ (consumed by the DLQ handler, which fails the task token so no execution hangs). Both
 * encrypted and TLS-only (`enforceSSL` adds a deny on aws:SecureTransport=false).
 */
export class LlmQueues extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly workerTimeout: Duration;

  constructor(scope: Construct, id: string, props: LlmQueuesProps) {
    super(scope, id);
    this.workerTimeout = props.workerTimeout;
    const encryption = props.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(
        DEAD_LETTER_HANDLER_TIMEOUT.toSeconds() * VISIBILITY_PER_WORKER_TIMEOUT,
      ),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.workerTimeout.toSeconds() * VISIBILITY_PER_WORKER_TIMEOUT),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }
}
