import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { LlmQueues } from '../../lib/constructs/queues';
import { llmQueueSettings } from '../../lib/llm-queue-settings';

function queuesTemplate(workerTimeoutSeconds: number, customerKey = false) {
  const stack = new Stack(new App(), 'QueuesTest');
  const encryptionKey = customerKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const queues = new LlmQueues(stack, 'Llm', {
    settings: llmQueueSettings({ workerTimeoutSeconds, maxConcurrency: 5 }),
    encryptionKey,
  });
  return { template: Template.fromStack(stack), stack, queues };
}

describe('LlmQueues', () => {
  const { template, stack, queues } = queuesTemplate(120);
  const dlqLogicalId = stack.getLogicalId(queues.deadLetterQueue.node.defaultChild as never);
  const queueLogicalId = stack.getLogicalId(queues.queue.node.defaultChild as never);

  it('sets visibility to at least 6 x the worker timeout and redrives after ≥ 5 receives', () => {
    const queue = template.toJSON().Resources[queueLogicalId].Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 120);
    expect(queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [dlqLogicalId, 'Arn'] });
  });

  it('follows the configured worker timeout', () => {
    const { template: slow } = queuesTemplate(900);
    slow.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 5400,
      RedrivePolicy: Match.anyValue(),
    });
  });

  it('gives the DLQ consumer the same 6 x visibility', () => {
    const dlq = template.toJSON().Resources[dlqLogicalId].Properties;
    expect(dlq.VisibilityTimeout).toBeGreaterThanOrEqual(
      6 * queues.settings.deadLetter.handlerTimeoutSeconds,
    );
  });

  it('keeps dead letters 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 14 * 24 * 3600 });
    const dlq = template.toJSON().Resources[dlqLogicalId].Properties;
    expect(dlq.MessageRetentionPeriod).toBe(1_209_600);
  });

  it('encrypts both queues (SQS managed by default, the customer key when given)', () => {
    const queuesFound = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queuesFound)).toHaveLength(2);
    for (const queue of Object.values(queuesFound)) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);

    const { template: cmk } = queuesTemplate(120, true);
    for (const queue of Object.values(cmk.findResources('AWS::SQS::Queue'))) {
      expect(queue.Properties.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'],
      });
    }
  });

  it('denies any request without TLS on both queues', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    const protectedQueues = policies.flatMap((policy) => {
      const statements = policy.Properties.PolicyDocument.Statement as Record<string, unknown>[];
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
      return policy.Properties.Queues as unknown[];
    });
    expect(protectedQueues).toEqual(expect.arrayContaining([{ Ref: queueLogicalId }, { Ref: dlqLogicalId }]));
  });
});
