import { describe, expect, it } from 'vitest';
import { ledgerView } from '../../../functions/api/views';
import type { Run } from '../../../functions/shared/domain/run';
import type { LedgerEntry } from '../../../functions/shared/store/ledger';

const entry = (over: Partial<LedgerEntry>): LedgerEntry => ({
  runId: 'r',
  stage: 'implement',
  conversationId: 'c',
  turn: 1,
  model: 'claude-sonnet-4-6',
  inputTokens: 10,
  outputTokens: 5,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  costUsd: 0.01,
  latencyMs: 100,
  at: '2026-12-01T00:00:00.000Z',
  ...over,
});

describe('the run view’s ledger by stage', () => {
  it('counts model calls only: sandbox time has a row of its own, with its cost and no calls', () => {
    const run = {
      ledger: {
        llmCalls: 2,
        inputTokens: 20,
        outputTokens: 10,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0.021,
      },
    } as Run;
    const view = ledgerView(run, [
      entry({ turn: 1 }),
      entry({ turn: 2 }),
      entry({
        kind: 'sandbox',
        model: 'sandbox',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0.001,
        sandboxSeconds: 30,
      }),
    ]);
    const rows = Object.fromEntries(view.by_stage.map((row) => [row.model, row]));
    expect(rows['claude-sonnet-4-6']).toMatchObject({ llm_calls: 2 });
    expect(rows.sandbox).toMatchObject({ llm_calls: 0, cost_usd: 0.001 });
  });
});

describe('the run view’s ledger by provider', () => {
  it('keeps one row per stage, provider and model, each naming the provider that answered', () => {
    const run = {
      ledger: {
        llmCalls: 3,
        inputTokens: 30,
        outputTokens: 15,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0.03,
      },
    } as Run;
    const view = ledgerView(run, [
      entry({
        stage: 'plan',
        turn: 1,
        provider: 'bedrock',
        model: 'global.anthropic.claude-sonnet-4-6',
        costUsd: 0.02,
      }),
      entry({ stage: 'plan', turn: 2, provider: 'openai-compatible', model: 'local/qwen', costUsd: 0 }),
      entry({ stage: 'plan', turn: 3, provider: 'openai-compatible', model: 'local/qwen', costUsd: 0 }),
    ]);
    expect(view.by_stage).toEqual([
      expect.objectContaining({ stage: 'plan', provider: 'bedrock', llm_calls: 1, cost_usd: 0.02 }),
      expect.objectContaining({ stage: 'plan', provider: 'openai-compatible', llm_calls: 2, cost_usd: 0 }),
    ]);
  });
});
