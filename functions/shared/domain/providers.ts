import * as z from 'zod';

/**
 * Model providers (issue 19). A provider is part of a model's identity:
 * `anthropic:claude-sonnet-4-6`, `bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0`,
 * `openai-compatible:<endpoint>/<model>` where `<endpoint>` names an endpoint the operator
 * configured (MODEL_CONFIG.endpoints). An unprefixed id belongs to the deployment's default provider.
 */

export const PROVIDERS = ['anthropic', 'bedrock', 'openai-compatible'] as const;
export const Provider = z.enum(PROVIDERS);
export type Provider = z.infer<typeof Provider>;

/** An OpenAI-compatible endpoint the operator allows: its base URL (with `/v1`) and key secret. */
export const OpenAiEndpoint = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** Secrets Manager id of the API key; absent = the endpoint needs none (a local Ollama). */
  apiKeySecretId: z.string().min(1).max(512).optional(),
});
export type OpenAiEndpoint = z.infer<typeof OpenAiEndpoint>;

export const EndpointName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, {
  error: 'must be an endpoint name (lowercase letters, digits and -, at most 32 characters)',
});

export interface ModelRef {
  provider: Provider;
  /** For openai-compatible: the configured endpoint's name. */
  endpoint?: string;
  /** The id the provider itself knows the model by. */
  model: string;
  /** The provider-qualified id, as ledgers and price tables key it. */
  id: string;
}

/** Splits a model id into provider, endpoint and the provider's own model id. Throws when malformed. */
export function parseModelRef(id: string, defaultProvider: Provider = 'anthropic'): ModelRef {
  const colon = id.indexOf(':');
  const prefix = colon > 0 ? id.slice(0, colon) : '';
  const provider = (PROVIDERS as readonly string[]).includes(prefix) ? (prefix as Provider) : undefined;
  // A Bedrock id has colons of its own (`…-v1:0`): only a known provider name is a prefix.
  const rest = provider ? id.slice(colon + 1) : id;
  const chosen = provider ?? defaultProvider;
  if (chosen !== 'openai-compatible') return { provider: chosen, model: rest, id: `${chosen}:${rest}` };
  const slash = rest.indexOf('/');
  const endpoint = slash > 0 ? rest.slice(0, slash) : '';
  const model = rest.slice(slash + 1);
  if (!EndpointName.safeParse(endpoint).success || model.length === 0)
    throw new Error(`model id ${JSON.stringify(id)} must read openai-compatible:<endpoint>/<model>`);
  return { provider: chosen, endpoint, model, id: `openai-compatible:${rest}` };
}

/** The provider an id names by its prefix, or undefined for an unprefixed id. */
export function providerPrefixOf(id: string): Provider | undefined {
  const prefix = id.slice(0, Math.max(id.indexOf(':'), 0));
  return (PROVIDERS as readonly string[]).includes(prefix) ? (prefix as Provider) : undefined;
}

/** Bedrock's cross-region inference profile prefixes (`us.anthropic.…`, `global.anthropic.…`). */
const INFERENCE_PROFILE_PREFIX = /^(?:us|eu|apac|jp|au|ca|us-gov|global)\./;

/** `bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5`: the Claude model behind a Bedrock id. */
export function claudeModelOfBedrockId(model: string): string | undefined {
  const base = model.replace(INFERENCE_PROFILE_PREFIX, '');
  if (!base.startsWith('anthropic.')) return undefined;
  return base
    .slice('anthropic.'.length)
    .replace(/-v\d+(?::\d+)?$/, '')
    .replace(/-\d{8}$/, '');
}

export function isInferenceProfile(model: string): boolean {
  return INFERENCE_PROFILE_PREFIX.test(model);
}
