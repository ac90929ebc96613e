import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { withEventMiddleware } from '../shared/middleware';
import { processLlmMessage } from './turn';
import { type LlmWorkerPorts, LlmMessage, RetryLater } from './turn-types';

export type { LlmWorkerPorts } from './turn-types';

/**
 * The LLM queue consumer. Each record is one model turn; a record that must be retried later
 * (429 retry-after, 529, 5xx, reset) is reported as a batch item failure after its visibility was
 * set to the wanted delay, so SQS redelivers it then and no function sleeps meanwhile.
 */
export function createLlmWorkerHandler(ports: LlmWorkerPorts) {
  const processor = new BatchProcessor(EventType.SQS);

  const recordHandler = async (record: SQSRecord): Promise<void> => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      ports.log.error('unparseable LLM message: dropped', { messageId: record.messageId });
      return;
    }
    const parsed = LlmMessage.safeParse(body);
    if (!parsed.success) {
      // Fail the task if the token is readable, so the execution does not wait for its timeout.
      const token = (body as { taskToken?: unknown } | null)?.taskToken;
      if (typeof token === 'string' && token.length > 0 && token.length <= 4096) {
        await ports.workflow.sendTaskFailure(token, 'LlmProtocolError', 'malformed LLM queue message');
      }
      ports.log.error('malformed LLM message: dropped', { messageId: record.messageId });
      return;
    }
    try {
      await processLlmMessage(ports, parsed.data, {
        messageId: record.messageId,
        receiptHandle: record.receiptHandle,
        receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1'),
      });
    } catch (error) {
      if (error instanceof RetryLater) throw error;
      ports.log.error('LLM turn failed unexpectedly: will be redelivered', {
        messageId: record.messageId,
        error: error instanceof Error ? error.name : 'unknown',
      });
      throw error;
    }
  };

  return withEventMiddleware(
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
      processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false }),
  );
}
