import { describe, expect, it } from 'vitest';
import {
  addUsage,
  costMicros,
  costOf,
  createPricing,
  formatUsd,
  sumUsd,
  worstCaseCost,
} from '../../../functions/shared/domain/ledger';
import {
  DEFAULT_MODEL_ALIASES,
  DEFAULT_PRICES,
  parseModelConfig,
  priceFor,
  resolveModels,
  unpricedModels,
} from '../../../functions/shared/domain/models';
import { emptyLedger, LedgerTotals } from '../../../functions/shared/domain/run';
import type { LlmUsage } from '../../../functions/shared/ports';

const usage = (u: Partial<LlmUsage>): LlmUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  ...u,
});

describe('models', () => {
  it('has a price for every default alias model', () => {
    expect(unpricedModels(DEFAULT_MODEL_ALIASES)).toEqual([]);
    expect(DEFAULT_PRICES['claude-sonnet-4-5']).toEqual({
      input: 3,
      output: 15,
      cacheWrite5m: 3.75,
      cacheWrite1h: 6,
      cacheRead: 0.3,
    });
    expect(DEFAULT_PRICES['claude-haiku-4-5']).toEqual({
      input: 1,
      output: 5,
      cacheWrite5m: 1.25,
      cacheWrite1h: 2,
      cacheRead: 0.1,
    });
  });

  it('finds prices for dated snapshots and not for unknown or inherited names', () => {
    expect(priceFor('claude-sonnet-4-5-20250929')).toEqual(DEFAULT_PRICES['claude-sonnet-4-5']);
    expect(priceFor('gpt-4')).toBeUndefined();
    expect(priceFor('constructor')).toBeUndefined();
    expect(priceFor('__proto__')).toBeUndefined();
  });

  it('resolves repo overrides over deployment aliases', () => {
    const models = resolveModels({ coder: ['claude-opus-4-6'] });
    expect(models.coder).toEqual(['claude-opus-4-6']);
    expect(models.planner).toEqual(DEFAULT_MODEL_ALIASES.planner);
    expect(unpricedModels(resolveModels({ fast: ['my-model'] }))).toEqual(['my-model']);
  });

  it('parses MODEL_CONFIG and refuses bad ones with field paths', () => {
    expect(parseModelConfig(undefined).aliases).toEqual(DEFAULT_MODEL_ALIASES);
    const custom = parseModelConfig(
      JSON.stringify({
        aliases: { fast: ['m1'] },
        prices: { m1: { input: 0.5, output: 1, cacheWrite5m: 0.625, cacheWrite1h: 1, cacheRead: 0.05 } },
      }),
    );
    expect(custom.aliases.fast).toEqual(['m1']);
    expect(custom.prices.m1?.input).toBe(0.5);
    expect(custom.prices['claude-haiku-4-5']).toBeDefined();
    expect(() => parseModelConfig('{')).toThrow(/not valid JSON/);
    expect(() => parseModelConfig(JSON.stringify({ prices: { m1: { input: -1 } } }))).toThrow(/prices\.m1/);
    expect(() => parseModelConfig(JSON.stringify({ aliases: { fast: [] } }))).toThrow(/aliases\.fast/);
    expect(() => parseModelConfig(JSON.stringify({ extra: 1 }))).toThrow(/MODEL_CONFIG is invalid/);
  });
});

describe('ledger', () => {
  it('prices each token kind exactly', () => {
    // 1M of each kind on Sonnet: 3 + 15 + 0.30 + 3.75 + 6 = 28.05
    const all = usage({
      inputTokens: 1e6,
      outputTokens: 1e6,
      cacheReadTokens: 1e6,
      cacheWrite5mTokens: 1e6,
      cacheWrite1hTokens: 1e6,
    });
    expect(costOf(all, 'claude-sonnet-4-5', DEFAULT_PRICES)).toBe(28.05);
    expect(costMicros(usage({ inputTokens: 1 }), 'claude-sonnet-4-5')).toBe(3);
    expect(costMicros(usage({ cacheReadTokens: 1 }), 'claude-haiku-4-5')).toBe(0); // 0.1 micro-dollar rounds down
    expect(costMicros(usage({ cacheReadTokens: 5 }), 'claude-haiku-4-5')).toBe(1); // 0.5 rounds half up
    expect(costOf(usage({ inputTokens: 12_345, outputTokens: 678 }), 'claude-haiku-4-5')).toBe(0.015735);
  });

  it('charges an unknown model at the dearest price, never zero', () => {
    const u = usage({ inputTokens: 1e6 });
    expect(costOf(u, 'mystery-model')).toBe(Math.max(...Object.values(DEFAULT_PRICES).map((p) => p.input)));
    expect(() => costOf(usage({ inputTokens: -1 }), 'claude-haiku-4-5')).toThrow(RangeError);
    expect(() => costOf(usage({ inputTokens: 1.5 }), 'claude-haiku-4-5')).toThrow(RangeError);
  });

  it('adds usage without float drift over many calls', () => {
    let totals = emptyLedger();
    let naive = 0;
    const call = usage({
      inputTokens: 1234,
      outputTokens: 567,
      cacheReadTokens: 8910,
      cacheWrite5mTokens: 111,
      cacheWrite1hTokens: 22,
    });
    const one = costOf(call, 'claude-sonnet-4-5');
    for (let i = 0; i < 1000; i++) {
      totals = addUsage(totals, call, 'claude-sonnet-4-5');
      naive += one;
    }
    expect(LedgerTotals.parse(totals)).toEqual(totals);
    expect(totals.llmCalls).toBe(1000);
    expect(totals.inputTokens).toBe(1_234_000);
    expect(totals.cacheWriteTokens).toBe(133_000);
    expect(totals.costUsd).toBe((costMicros(call, 'claude-sonnet-4-5') * 1000) / 1e6);
    expect(naive).not.toBe(totals.costUsd); // the float sum drifts; the ledger does not
    expect(sumUsd([0.1, 0.2])).toBe(0.3);
    expect(formatUsd(1.005)).toBe('$1.01');
    expect(formatUsd(0)).toBe('$0.00');
  });

  it('reserves the worst case: dearest input rate plus all output, rounded up', () => {
    // Sonnet: 1000 input at the 1h cache-write rate (6/M) + 2000 output at 15/M
    expect(worstCaseCost(1000, 2000, 'claude-sonnet-4-5')).toBe(0.036);
    expect(worstCaseCost(1, 0, 'claude-haiku-4-5')).toBe(0.000002);
    const actual = costOf(
      usage({ inputTokens: 400, cacheWrite1hTokens: 600, outputTokens: 2000 }),
      'claude-sonnet-4-5',
    );
    expect(actual).toBeLessThanOrEqual(worstCaseCost(1000, 2000, 'claude-sonnet-4-5'));
    const pricing = createPricing();
    expect(pricing.worstCaseUsd('claude-sonnet-4-5', 1000, 2000)).toBe(0.036);
    expect(pricing.costUsd('claude-sonnet-4-5', usage({ outputTokens: 1e6 }))).toBe(15);
  });
});
