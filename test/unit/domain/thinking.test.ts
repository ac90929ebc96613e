import { describe, expect, it } from 'vitest';
import { parseFactoryConfig } from '../../../functions/shared/domain/contract';
import { parseModelConfig, thinkingModeOf } from '../../../functions/shared/domain/models';
import { resolveThinking } from '../../../functions/shared/domain/thinking';
import { runContractOf } from '../../../functions/stages/admit';
import type { StagePorts } from '../../../functions/stages/deps';

/** Extended thinking: the deployment's budgets and cap, a repository's within them. */

describe('extended thinking settings', () => {
  it('is off unless configured; MODEL_CONFIG sets budgets by stage and the cap repositories get', () => {
    expect(parseModelConfig(undefined).thinking).toEqual({ budgets: {}, maxBudgetTokens: 16_000 });
    expect(
      parseModelConfig(JSON.stringify({ thinking: { plan: 8000, review: 4000, maxBudgetTokens: 10_000 } }))
        .thinking,
    ).toEqual({ budgets: { plan: 8000, review: 4000 }, maxBudgetTokens: 10_000 });
    expect(() => parseModelConfig(JSON.stringify({ thinking: { plan: 500 } }))).toThrow(
      /thinking\.plan: must be 0 \(off\) or from 1024 to 64000 tokens/,
    );
    expect(() => parseModelConfig(JSON.stringify({ thinking: { fix: 2000 } }))).toThrow(/thinking/);
  });

  it('factory.yml asks by stage, 0 or 1024..64000, and names a wrong value', () => {
    const ok = parseFactoryConfig('thinking:\n  plan: 4000\n  review: 0\n');
    expect(ok.ok && ok.contract.thinking).toEqual({ plan: 4000, review: 0 });
    const bad = parseFactoryConfig('thinking:\n  plan: 100\n  deploy: 2000\n');
    expect(bad.ok).toBe(false);
    const problems = bad.ok ? [] : bad.errors.map((e) => [e.path, e.message]);
    expect(problems).toEqual([
      ['thinking.plan', 'must be 0 (off) or from 1024 to 64000 tokens'],
      ['thinking.deploy', 'is not a known setting (see docs/factory-yml.md)'],
    ]);
  });

  it("resolves the repository's budgets over the deployment's, within the operator's cap", () => {
    expect(resolveThinking({}, {}, 16_000)).toEqual({});
    expect(resolveThinking({}, { plan: 8000, review: 4000 }, 16_000)).toEqual({ plan: 8000, review: 4000 });
    // A repository may turn a stage off, ask for more (up to the cap) or for a stage the deployment leaves off.
    expect(resolveThinking({ plan: 0, review: 32_000, implement: 2000 }, { plan: 8000 }, 16_000)).toEqual({
      review: 16_000,
      implement: 2000,
    });
    // A cap under the API's minimum means no thinking at all.
    expect(resolveThinking({ plan: 4000 }, { review: 4000 }, 0)).toEqual({});
  });

  it('asks Claude 4.7 and later to think adaptively (they refuse a fixed budget), older models with the budget', () => {
    for (const model of [
      'claude-sonnet-4-5',
      'claude-sonnet-4-6',
      'claude-opus-4-1',
      'claude-haiku-4-5-20251001',
    ])
      expect(thinkingModeOf(model), model).toBe('enabled');
    expect(thinkingModeOf('bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe('enabled');
    for (const model of ['claude-opus-4-7', 'claude-sonnet-5', 'claude-sonnet-5-5', 'claude-fable-5-1'])
      expect(thinkingModeOf(model), model).toBe('adaptive');
    expect(thinkingModeOf('anthropic:claude-opus-5-5')).toBe('adaptive');
  });

  it("admit snapshots the resolved budgets on the run's contract", () => {
    const parsed = parseFactoryConfig('thinking:\n  review: 20000\n');
    if (!parsed.ok) throw new Error('config refused');
    const deps = {
      settings: {
        models: parseModelConfig(JSON.stringify({ thinking: { plan: 6000, maxBudgetTokens: 12_000 } })),
        defaultApprovers: [],
        llmTurnSeconds: 900,
      },
    } as unknown as StagePorts;
    expect(runContractOf(deps, parsed.contract).thinking).toEqual({ plan: 6000, review: 12_000 });
  });
});
