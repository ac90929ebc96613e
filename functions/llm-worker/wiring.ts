import { SQSClient } from '@aws-sdk/client-sqs';
import { AnthropicLlm } from '../shared/adapters/anthropic';
import { SqsQueue } from '../shared/adapters/queue';
import type { Env } from '../shared/config';
import { createPricing } from '../shared/domain/ledger';
import { parseModelConfig } from '../shared/domain/models';
import type { Llm, Secrets } from '../shared/ports';
import { log } from '../shared/middleware';
import { awsClientConfig, makeSecrets, makeStore, makeWorkflow, systemClock } from '../shared/runtime';
import { ModelPacer } from './pacing';
import type { LlmWorkerPorts } from './turn';

/** The Anthropic client needs the key from Secrets Manager: built on the first call, then kept. */
export function lazyAnthropic(
  secrets: Secrets,
  secretId: string,
  baseURL: string | undefined,
  timeoutMs: number,
): Llm {
  let client: Promise<Llm> | undefined;
  const get = () => {
    client ??= secrets
      .get(secretId)
      .then((apiKey) => new AnthropicLlm({ apiKey, timeoutMs, ...(baseURL ? { baseURL } : {}) }));
    client.catch(() => {
      client = undefined; // a failed secret read is retried on the next call
    });
    return client;
  };
  return {
    createMessage: async (request) => (await get()).createMessage(request),
    countTokens: async (request) => (await get()).countTokens(request),
  };
}

/** Real ports for the LLM worker (Lambda's handler.ts and the embedded stack both use it). */
export function llmWorkerPorts(config: Env): LlmWorkerPorts {
  const secrets = makeSecrets();
  return {
    store: makeStore(config),
    workflow: makeWorkflow(config),
    queue: new SqsQueue(new SQSClient(awsClientConfig), config.LLM_QUEUE_URL),
    llm: lazyAnthropic(
      secrets,
      config.ANTHROPIC_SECRET_ID,
      config.ANTHROPIC_BASE_URL,
      config.LLM_CALL_TIMEOUT_SECONDS * 1000,
    ),
    clock: systemClock,
    log,
    pricing: createPricing(parseModelConfig(config.MODEL_CONFIG).prices),
    pacer: new ModelPacer(),
    // As long as an invocation can run (the call's timeout plus a little bookkeeping), which is
    // shorter than the queue's visibility timeout.
    turnLeaseSeconds: config.LLM_CALL_TIMEOUT_SECONDS + 20,
  };
}
