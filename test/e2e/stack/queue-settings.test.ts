import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App, Stack as CdkStack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactoryConfigSchema } from '../../../lib/config';
import { LlmQueues } from '../../../lib/constructs/queues';
import { llmQueueSettings } from '../../../lib/llm-queue-settings';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import type { Stack } from '../../../local/stack';
import { startTestStack } from '../../support/e2e';

/**
 * Issue 22: the embedded stack's LLM queues are the deployed ones. The CDK side is synthesized
 * from the default deployment settings; the local side is read back from the running emulator
 * through the real SQS client.
 */
describe('the embedded stack queues as deployed', () => {
  let stack: Stack;
  let sqs: SQSClient;
  const deployedLlm = FactoryConfigSchema.shape.llm.parse(undefined);

  const deployed = () => {
    const cdk = new CdkStack(new App(), 'QueueSettings');
    const queues = new LlmQueues(cdk, 'Llm', { settings: llmQueueSettings(deployedLlm) });
    const resources = Template.fromStack(cdk).toJSON().Resources;
    const props = (construct: LlmQueues['queue']) =>
      resources[cdk.getLogicalId(construct.node.defaultChild as never)].Properties;
    return { queue: props(queues.queue), dlq: props(queues.deadLetterQueue) };
  };

  const local = async (name: string) => {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
    );
    return Attributes ?? {};
  };

  beforeAll(async () => {
    stack = await startTestStack();
    sqs = new SQSClient({
      endpoint: stack.endpoints.sqs,
      region: LOCAL_REGION,
      credentials: FAKE_CREDENTIALS,
    });
  });
  afterAll(async () => {
    sqs?.destroy();
    await stack?.stop();
  });

  it('redrives after the same receives, with the same visibility and retention', async () => {
    const { queue, dlq } = deployed();
    const llm = await local('code-factory-llm');
    expect(Number(llm.VisibilityTimeout)).toBe(queue.VisibilityTimeout);
    expect(JSON.parse(llm.RedrivePolicy ?? '{}').maxReceiveCount).toBe(queue.RedrivePolicy.maxReceiveCount);
    expect(Number(llm.MessageRetentionPeriod)).toBe(queue.MessageRetentionPeriod);

    const dead = await local('code-factory-llm-dlq');
    expect(Number(dead.VisibilityTimeout)).toBe(dlq.VisibilityTimeout);
    expect(Number(dead.MessageRetentionPeriod)).toBe(dlq.MessageRetentionPeriod);
  });

  it('gives a model request the deployed worker its time limit', () => {
    expect(Number(process.env.LLM_CALL_TIMEOUT_SECONDS)).toBe(
      llmQueueSettings(deployedLlm).callTimeoutSeconds,
    );
  });
});
