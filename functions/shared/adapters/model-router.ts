import type { OpenAiEndpoint, Provider } from '../domain/providers';
import { parseModelRef } from '../domain/providers';
import { LlmError } from '../errors';
import type { Llm, LlmRequest, LlmResponse, Secrets } from '../ports';

/**
 * The one `Llm` the worker calls: each request goes to the adapter of its model's provider
 * (domain/providers.ts), built on first use and kept for the container's life. Each provider's
 * SDK is imported only when a model of that provider is first called. Answers name the provider
 * and, for a provider-qualified request, keep the qualified id, so the ledger records who answered
 * and prices are looked up under the id the configuration uses.
 */

export interface ModelRouterOptions {
  defaultProvider: Provider;
  secrets: Secrets;
  /** No secret id: the deployment has no Anthropic key (its models are on other providers). */
  anthropic: { secretId?: string; baseURL?: string };
  bedrock?: { region?: string; baseURL?: string };
  endpoints: Record<string, OpenAiEndpoint>;
  timeoutMs: number;
}

export type RoutedResponse = LlmResponse & { provider: Provider };

export function modelRouter(options: ModelRouterOptions): Llm & {
  createMessage(request: LlmRequest): Promise<RoutedResponse>;
} {
  const adapters = new Map<string, Promise<Llm>>();

  const build = async (provider: Provider, endpoint?: string): Promise<Llm> => {
    const timeoutMs = options.timeoutMs;
    switch (provider) {
      case 'anthropic': {
        const secretId = options.anthropic.secretId;
        if (!secretId)
          throw new LlmError(
            'permanent',
            'this deployment has no Anthropic API key (ANTHROPIC_SECRET_ID): use a model of its provider, or give providers.anthropic.apiKeySecretArn',
          );
        const apiKey = await options.secrets.get(secretId);
        const { AnthropicLlm } = await import('./anthropic');
        const baseURL = options.anthropic.baseURL;
        return new AnthropicLlm({ apiKey, timeoutMs, ...(baseURL ? { baseURL } : {}) });
      }
      case 'bedrock': {
        const { BedrockLlm } = await import('./bedrock');
        return new BedrockLlm({ timeoutMs, ...options.bedrock });
      }
      case 'openai-compatible': {
        const config = endpoint !== undefined ? options.endpoints[endpoint] : undefined;
        if (!config || !endpoint || !Object.hasOwn(options.endpoints, endpoint))
          throw new LlmError(
            'permanent',
            `no OpenAI-compatible endpoint named ${JSON.stringify(endpoint)} is configured (MODEL_CONFIG.endpoints)`,
          );
        const apiKey = config.apiKeySecretId ? await options.secrets.get(config.apiKeySecretId) : undefined;
        const { OpenAiCompatibleLlm } = await import('./openai-compatible');
        return new OpenAiCompatibleLlm({ baseURL: config.baseUrl, timeoutMs, ...(apiKey ? { apiKey } : {}) });
      }
    }
  };

  const adapterFor = (provider: Provider, endpoint?: string): Promise<Llm> => {
    const key = `${provider}/${endpoint ?? ''}`;
    let adapter = adapters.get(key);
    if (!adapter) {
      adapter = build(provider, endpoint);
      adapters.set(key, adapter);
      // A failed secret read or import is tried again on the next call.
      adapter.catch(() => adapters.delete(key));
    }
    return adapter;
  };

  const route = (request: LlmRequest) => {
    try {
      const ref = parseModelRef(request.model, options.defaultProvider);
      const qualified = ref.id === request.model;
      return { ref, prefix: qualified ? ref.id.slice(0, ref.id.length - ref.model.length) : '' };
    } catch (error) {
      throw new LlmError('permanent', (error as Error).message);
    }
  };

  return {
    async createMessage(request) {
      const { ref, prefix } = route(request);
      const adapter = await adapterFor(ref.provider, ref.endpoint);
      const response = await adapter.createMessage({ ...request, model: ref.model });
      return { ...response, model: `${prefix}${response.model}`, provider: ref.provider };
    },
    async countTokens(request) {
      const { ref } = route(request);
      const adapter = await adapterFor(ref.provider, ref.endpoint);
      return adapter.countTokens({ ...request, model: ref.model });
    },
  };
}
