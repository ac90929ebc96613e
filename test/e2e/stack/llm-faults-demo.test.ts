import { DEFAULT_SANDBOX_PRICE_PER_SECOND_USD } from '../../../functions/shared/domain/sandbox-price';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES } from '../../../functions/shared/domain/models';
import { type DemoResult, runDemo } from '../../../local/demo';
import type { RecordedCall } from '../../../local/model/server';

/**
 * Issue 6 through the demo itself: `runDemo` (what `npm run demo -- --auto-approve --json
 * --llm-faults 429,529,500,reset` runs) survives the four faults, and its ledger holds exactly
 * the model calls that succeeded, priced to the cent from their usage and the default price table.
 */

describe('the demo with injected model faults', () => {
  it('ends SUCCEEDED; the ledger counts only the calls that succeeded, priced to the cent', async () => {
    let calls: RecordedCall[] = [];
    let stored: DemoResult['ledger'] | undefined;
    const result = await runDemo({
      autoApprove: true,
      json: true,
      llmFaults: '429,529,500,reset',
      timeoutMs: 150_000,
      inspect: async (stack, demo) => {
        calls = stack.model?.calls() ?? [];
        stored = (await stack.store.getRun(demo.runId))?.ledger;
      },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.mergedSha).toMatch(/^[0-9a-f]{40}$/);

    const messageCalls = calls.filter((c) => c.path === '/v1/messages');
    // Every fault was served, in order, to the first calls.
    expect(messageCalls.filter((c) => c.fault).map((c) => c.fault)).toEqual(['429', '529', '500', 'reset']);
    expect(messageCalls.slice(0, 4).map((c) => c.status)).toEqual([429, 529, 500, 0]);
    const succeeded = messageCalls.filter((c) => c.status === 200);
    expect(succeeded.length).toBeGreaterThan(0);
    expect(messageCalls.length).toBe(succeeded.length + 4);

    // The ledger: exactly the successful calls and their tokens.
    const sum = (pick: (c: RecordedCall) => number) => succeeded.reduce((total, c) => total + pick(c), 0);
    expect(result.ledger).toMatchObject({
      llmCalls: succeeded.length,
      inputTokens: sum((c) => c.usage?.input_tokens ?? Number.NaN),
      outputTokens: sum((c) => c.usage?.output_tokens ?? Number.NaN),
      cacheReadTokens: sum((c) => c.usage?.cache_read_input_tokens ?? Number.NaN),
      cacheWriteTokens: sum((c) => c.usage?.cache_creation_input_tokens ?? Number.NaN),
    });
    expect(result.ledger).toEqual(stored);

    // USD by hand: tokens x list price per million, per model, summed.
    const handUsd = succeeded.reduce((total, call) => {
      const price = DEFAULT_PRICES[call.model ?? ''];
      const usage = call.usage;
      if (!price || !usage) throw new Error(`call ${call.seq} has no price or usage (${call.model})`);
      return (
        total +
        (usage.input_tokens * price.input +
          usage.output_tokens * price.output +
          usage.cache_creation.ephemeral_5m_input_tokens * price.cacheWrite5m +
          usage.cache_creation.ephemeral_1h_input_tokens * price.cacheWrite1h +
          usage.cache_read_input_tokens * price.cacheRead) /
          1_000_000
      );
    }, 0);
    expect(handUsd).toBeGreaterThan(0);
    // The run's cost also holds its sandbox time (the demo runs the tests), billed per second.
    const sandboxUsd = (result.ledger.sandboxSeconds ?? 0) * DEFAULT_SANDBOX_PRICE_PER_SECOND_USD;
    expect(sandboxUsd).toBeGreaterThan(0);
    const modelUsd = result.ledger.costUsd - sandboxUsd;
    expect(Math.round(modelUsd * 100)).toBe(Math.round(handUsd * 100));
    expect(Math.abs(modelUsd - handUsd)).toBeLessThan(0.005);
    expect(result.costUsd).toBe(result.ledger.costUsd);
  }, 180_000);
});
