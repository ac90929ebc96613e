import { describe, expect, it } from 'vitest';
import { createPricing } from '../../../functions/shared/domain/ledger';
import { modelRouter } from '../../../functions/shared/adapters/model-router';
import { LlmError } from '../../../functions/shared/errors';
import {
  DEFAULT_BEDROCK_MODEL_ALIASES,
  DEFAULT_MODEL_ALIASES,
  disallowedModels,
  parseModelConfig,
  priceFor,
  unpricedMessage,
  unpricedModels,
} from '../../../functions/shared/domain/models';
import { claudeModelOfBedrockId, parseModelRef } from '../../../functions/shared/domain/providers';

describe('parseModelRef', () => {
  it('reads the provider prefix, and gives unprefixed ids to the default provider', () => {
    expect(parseModelRef('claude-sonnet-4-6')).toEqual({
      provider: 'anthropic',
      model: 'claude-sonnet-4-6',
      id: 'anthropic:claude-sonnet-4-6',
    });
    expect(parseModelRef('bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toMatchObject({
      provider: 'bedrock',
      model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    });
    // A Bedrock id's own colon is not a provider prefix.
    expect(parseModelRef('anthropic.claude-haiku-4-5-20251001-v1:0', 'bedrock')).toMatchObject({
      provider: 'bedrock',
      model: 'anthropic.claude-haiku-4-5-20251001-v1:0',
    });
    expect(parseModelRef('openai-compatible:local/qwen2.5-coder:7b')).toEqual({
      provider: 'openai-compatible',
      endpoint: 'local',
      model: 'qwen2.5-coder:7b',
      id: 'openai-compatible:local/qwen2.5-coder:7b',
    });
    expect(() => parseModelRef('openai-compatible:qwen')).toThrow(/openai-compatible:<endpoint>\/<model>/);
  });

  it('finds the Claude model behind Bedrock ids and inference profiles', () => {
    expect(claudeModelOfBedrockId('global.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe(
      'claude-sonnet-4-5',
    );
    expect(claudeModelOfBedrockId('anthropic.claude-opus-4-6-v1')).toBe('claude-opus-4-6');
    expect(claudeModelOfBedrockId('meta.llama3-70b-instruct-v1:0')).toBeUndefined();
  });
});

describe('prices by provider', () => {
  it('prices anthropic: and bedrock: Claude ids at the list price, openai-compatible only when configured', () => {
    const sonnet = priceFor('claude-sonnet-4-6');
    expect(sonnet?.input).toBe(3);
    expect(priceFor('anthropic:claude-sonnet-4-6')).toEqual(sonnet);
    expect(priceFor('bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0')?.output).toBe(15);
    expect(priceFor('openai-compatible:local/llama3')).toBeUndefined();
    const prices = parseModelConfig(
      JSON.stringify({
        endpoints: { local: { baseUrl: 'http://127.0.0.1:11434/v1' } },
        prices: {
          'openai-compatible:local/llama3': {
            input: 0,
            output: 0,
            cacheWrite5m: 0,
            cacheWrite1h: 0,
            cacheRead: 0,
          },
        },
      }),
    ).prices;
    expect(priceFor('openai-compatible:local/llama3', prices)?.output).toBe(0);
  });

  it('refuses an unpriced model with a message naming the key to set', () => {
    const aliases = { ...DEFAULT_MODEL_ALIASES, planner: ['openai-compatible:local/llama3'] };
    const unpriced = unpricedModels(aliases);
    expect(unpriced).toEqual(['openai-compatible:local/llama3']);
    expect(unpricedMessage(unpriced)).toContain('MODEL_CONFIG.prices["openai-compatible:local/llama3"]');
    const pricing = createPricing();
    expect(pricing.isPriced('openai-compatible:local/llama3')).toBe(false);
    expect(pricing.isPriced('claude-haiku-4-5')).toBe(true);
  });

  it('prices unprefixed ids as the default provider', () => {
    const pricing = createPricing(undefined, 'bedrock');
    const usage = {
      inputTokens: 1_000_000,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
    };
    expect(pricing.costUsd('anthropic.claude-haiku-4-5-20251001-v1:0', usage)).toBe(1);
  });
});

describe('providers a repository may use', () => {
  const config = parseModelConfig(
    JSON.stringify({
      defaultProvider: 'bedrock',
      endpoints: { local: { baseUrl: 'http://127.0.0.1:11434/v1' } },
      aliases: { fast: ['anthropic.claude-haiku-4-5-20251001-v1:0'] },
    }),
  );

  it('allows the default provider and the configured endpoints only', () => {
    expect(config.allowedProviders).toEqual(['bedrock', 'openai-compatible']);
    const aliases = {
      ...config.aliases,
      planner: [
        'openai-compatible:local/llama3',
        'openai-compatible:elsewhere/llama3',
        'anthropic:claude-sonnet-4-6',
      ],
    };
    expect(disallowedModels(aliases, config)).toEqual([
      'openai-compatible:elsewhere/llama3',
      'anthropic:claude-sonnet-4-6',
    ]);
  });

  it('refuses a deployment list naming an endpoint it does not configure', () => {
    expect(() =>
      parseModelConfig(JSON.stringify({ aliases: { planner: ['openai-compatible:nowhere/x'] } })),
    ).toThrow(/endpoint nowhere/);
  });
});

describe('the Bedrock default', () => {
  it('gives a Bedrock deployment Bedrock aliases, every one priced and a Bedrock id', () => {
    const config = parseModelConfig(JSON.stringify({ defaultProvider: 'bedrock' }));
    expect(config.aliases).toEqual(DEFAULT_BEDROCK_MODEL_ALIASES);
    expect(config.allowedProviders).toEqual(['bedrock']);
    expect(unpricedModels(config.aliases, config.prices, 'bedrock')).toEqual([]);
    for (const id of Object.values(config.aliases).flat()) {
      expect(parseModelRef(id, 'bedrock').provider).toBe('bedrock');
      expect(claudeModelOfBedrockId(id)).toMatch(/^claude-/);
    }
    // Configured lists still win over the built-in ones.
    const mine = parseModelConfig(
      JSON.stringify({
        defaultProvider: 'bedrock',
        aliases: { fast: ['eu.anthropic.claude-haiku-4-5-20251001-v1:0'] },
      }),
    );
    expect(mine.aliases.fast).toEqual(['eu.anthropic.claude-haiku-4-5-20251001-v1:0']);
    expect(mine.aliases.coder).toEqual(DEFAULT_BEDROCK_MODEL_ALIASES.coder);
  });

  it('answers an Anthropic model with a permanent error naming the setting when the deployment has no Anthropic key', async () => {
    const secrets = {
      get: async () => {
        throw new Error('no secret should be read');
      },
    };
    const router = modelRouter({
      defaultProvider: 'bedrock',
      secrets,
      anthropic: {},
      endpoints: {},
      timeoutMs: 1000,
    });
    const error = await router
      .createMessage({
        model: 'anthropic:claude-sonnet-4-6',
        system: [],
        messages: [],
        tools: [],
        maxTokens: 10,
      } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).message).toContain('providers.anthropic.apiKeySecretArn');
  });
});
