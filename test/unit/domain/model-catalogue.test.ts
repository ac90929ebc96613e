import { describe, expect, it } from 'vitest';
import { costOf, worstCaseCost } from '../../../functions/shared/domain/ledger';
import { contextWindowOf, DEFAULT_MODEL_ALIASES, priceFor } from '../../../functions/shared/domain/models';

const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0) => ({
  inputTokens,
  outputTokens,
  cacheReadTokens,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
});

describe('the model catalogue', () => {
  it('prices the current models as Anthropic publishes them', () => {
    expect(priceFor('claude-opus-5-5')).toMatchObject({
      input: 4,
      output: 20,
      cacheWrite5m: 5,
      cacheWrite1h: 8,
      cacheRead: 0.2,
    });
    expect(priceFor('claude-sonnet-5-5')).toMatchObject({
      input: 2,
      output: 10,
      cacheWrite5m: 2.5,
      cacheWrite1h: 4,
      cacheRead: 0.1,
    });
    expect(priceFor('claude-sonnet-5')).toMatchObject({ input: 2, output: 10, cacheRead: 0.2 });
    expect(priceFor('claude-opus-5')).toMatchObject({ input: 5, output: 25, cacheRead: 0.5 });
    expect(priceFor('claude-fable-5-1')).toMatchObject({ input: 10, output: 50 });
    expect(priceFor('claude-haiku-5-5')).toMatchObject({ input: 0.1, output: 0.5, cacheRead: 0.01 });
    expect(priceFor('claude-haiku-4-5-20251001')).toMatchObject({ input: 1, output: 5 });
  });

  it('charges a long prompt every token at the long-prompt rates, past the threshold only', () => {
    // Haiku 5.5: up to 100,000 prompt tokens $0.10/$0.50, beyond that $0.50/$2.50 on every token.
    expect(costOf(usage(100_000, 1_000), 'claude-haiku-5-5')).toBeCloseTo(0.01 + 0.0005, 6);
    expect(costOf(usage(100_001, 1_000), 'claude-haiku-5-5')).toBeCloseTo(0.0500005 + 0.0025, 6);
    // Cache reads count towards the prompt's length.
    expect(costOf(usage(50_000, 0, 60_000), 'claude-haiku-5-5')).toBeCloseTo(0.025 + 0.003, 6);
    // A model without a tier is charged the same at any length.
    expect(costOf(usage(300_000, 0), 'claude-sonnet-5-5')).toBeCloseTo(0.6, 6);
  });

  it('reserves at the dearer tier, so a reservation covers the real cost whichever tier applies', () => {
    const reserved = worstCaseCost(10_000, 1_000, 'claude-haiku-5-5');
    expect(reserved).toBeGreaterThanOrEqual(costOf(usage(10_000, 1_000), 'claude-haiku-5-5'));
    expect(reserved).toBeCloseTo(10_000 * 1e-6 + 1_000 * 2.5e-6, 6);
  });

  it('knows each current model’s context window, with or without provider, region and version', () => {
    expect(contextWindowOf('claude-opus-5-5')).toBe(1_000_000);
    expect(contextWindowOf('anthropic:claude-sonnet-5-5')).toBe(1_000_000);
    expect(contextWindowOf('bedrock:us.anthropic.claude-opus-5-20260724-v1:0')).toBe(1_000_000);
    expect(contextWindowOf('claude-haiku-4-5')).toBe(200_000);
    expect(contextWindowOf('openai-compatible:local/llama')).toBe(200_000);
  });

  it('has a price for every model the default aliases use', () => {
    for (const id of Object.values(DEFAULT_MODEL_ALIASES).flat()) expect(priceFor(id), id).toBeDefined();
  });
});
