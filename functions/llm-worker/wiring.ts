import { SQSClient } from '@aws-sdk/client-sqs';
import { modelRouter } from '../shared/adapters/model-router';
import { SqsQueue } from '../shared/adapters/queue';
import type { Env } from '../shared/config';
import { createPricing } from '../shared/domain/ledger';
import { parseModelConfig } from '../shared/domain/models';
import { log } from '../shared/middleware';
import { awsClientConfig, makeSecrets, makeStore, makeWorkflow, systemClock } from '../shared/runtime';
import { ModelPacer } from './pacing';
import type { LlmWorkerPorts } from './turn-types';

/** Real ports for the LLM worker (Lambda's handler.ts and the embedded stack both use it). */
export function llmWorkerPorts(config: Env): LlmWorkerPorts {
  const models = parseModelConfig(config.MODEL_CONFIG);
  return {
    store: makeStore(config),
    workflow: makeWorkflow(config),
    queue: new SqsQueue(new SQSClient(awsClientConfig), config.LLM_QUEUE_URL),
    // Secrets (API keys) are read on a provider's first call, then kept.
    llm: modelRouter({
      defaultProvider: models.defaultProvider,
      secrets: makeSecrets(),
      anthropic: {
        ...(config.ANTHROPIC_SECRET_ID ? { secretId: config.ANTHROPIC_SECRET_ID } : {}),
        ...(config.ANTHROPIC_BASE_URL ? { baseURL: config.ANTHROPIC_BASE_URL } : {}),
      },
      bedrock: config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME
        ? { baseURL: config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME }
        : {},
      endpoints: models.endpoints,
      timeoutMs: config.LLM_CALL_TIMEOUT_SECONDS * 1000,
    }),
    clock: systemClock,
    log,
    pricing: createPricing(models.prices, models.defaultProvider),
    pacer: new ModelPacer(),
    // As long as an invocation can run (the call's timeout plus a little bookkeeping), which is
    // shorter than the queue's visibility timeout.
    turnLeaseSeconds: config.LLM_CALL_TIMEOUT_SECONDS + 20,
  };
}
