import { describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../../../local/demo';
import { providerOptions } from '../../../local/model/choice';
import type { RecordedCall } from '../../../local/model/server';
import { LOCAL_BEDROCK_MODELS } from '../../../local/stack';
import type { LedgerEntry } from '../../../functions/shared/store/ledger';
import { SAMPLE_ISSUE, SAMPLE_OWNER, SAMPLE_REPO } from '../../../local/forge/sample';
import { scenarioNamed } from '../../../local/model/scenarios';

/**
 * Issue 19: `npm run demo -- --provider bedrock|openai-compatible --auto-approve --json` on the
 * embedded stack, checked at the model stand-in: every model call arrived in that provider's wire
 * format (Bedrock: SigV4-signed InvokeModel; OpenAI: /v1/chat/completions with tools), and the
 * ledger names the provider of every turn. Then a planner list mixing the two falls back from a
 * throttling Bedrock to the OpenAI-compatible endpoint.
 */

interface Seen {
  calls: RecordedCall[];
  ledger: LedgerEntry[];
}

async function demo(options: Parameters<typeof runDemo>[0]): Promise<{ result: DemoResult; seen: Seen }> {
  let seen: Seen | undefined;
  const result = await runDemo({
    ...options,
    inspect: async (stack, outcome) => {
      seen = { calls: stack.model?.calls() ?? [], ledger: await stack.store.listLedger(outcome.runId) };
    },
  });
  if (!seen) throw new Error('the demo ended before its stack could be inspected');
  return { result, seen };
}

/** The model calls' entries: sandbox time has entries of its own (kind `sandbox`). */
const modelEntries = (ledger: LedgerEntry[]) => ledger.filter((entry) => entry.kind !== 'sandbox');

const billable = (calls: RecordedCall[]) =>
  calls.filter((c) => c.status === 200 && c.path !== '/v1/messages/count_tokens');

describe('npm run demo -- --provider …', () => {
  it('bedrock: every call is a SigV4-signed InvokeModel on the inference profile, and the ledger says bedrock', async () => {
    const { result, seen } = await demo({
      autoApprove: true,
      json: true,
      timeoutMs: 180_000,
      models: providerOptions({ provider: 'bedrock' }, {}),
    });
    expect(result.status).toBe('SUCCEEDED');
    const calls = billable(seen.calls);
    expect(calls.length).toBe(result.ledger.llmCalls);
    for (const call of seen.calls) {
      expect(call.api).toBe('bedrock');
      expect(call.signed).toBe(true);
      expect(call.path).toMatch(/^\/model\/[^/]+\/invoke$/);
    }
    expect(
      calls.some((c) => decodeURIComponent(c.path) === `/model/${LOCAL_BEDROCK_MODELS.main}/invoke`),
    ).toBe(true);
    expect(calls.every((c) => c.tools.length > 0)).toBe(true);
    expect(modelEntries(seen.ledger).length).toBe(calls.length);
    for (const entry of modelEntries(seen.ledger)) {
      expect(entry.provider).toBe('bedrock');
      expect(entry.model).toMatch(/^bedrock:us\.anthropic\.claude-/);
      expect(entry.costUsd).toBeGreaterThan(0);
    }
  }, 240_000);

  it('openai-compatible: every call is /v1/chat/completions with tools, priced 0, and the ledger says so', async () => {
    const { result, seen } = await demo({
      autoApprove: true,
      json: true,
      timeoutMs: 180_000,
      models: providerOptions({ provider: 'openai-compatible', model: 'qwen2.5-coder:7b' }, {}),
    });
    expect(result.status).toBe('SUCCEEDED');
    // The model is free; what the run cost is its sandbox time.
    const sandboxMicros = seen.ledger
      .filter((entry) => entry.kind === 'sandbox')
      .reduce((sum, entry) => sum + Math.round(entry.costUsd * 1e6), 0);
    expect(Math.round(result.costUsd * 1e6)).toBe(sandboxMicros);
    const calls = billable(seen.calls);
    expect(calls.length).toBe(result.ledger.llmCalls);
    for (const call of seen.calls) {
      expect(call.api).toBe('openai');
      expect(call.path).toBe('/v1/chat/completions');
      expect(call.model).toBe('qwen2.5-coder:7b');
    }
    expect(calls.every((c) => c.tools.length > 0)).toBe(true);
    // Parallel or single, the model's tool calls came back through the translation.
    expect(calls.some((c) => c.toolCalls.length > 0)).toBe(true);
    for (const entry of modelEntries(seen.ledger)) {
      expect(entry.provider).toBe('openai-compatible');
      expect(entry.model).toBe('openai-compatible:local/qwen2.5-coder:7b');
      expect(entry.costUsd).toBe(0);
    }
  }, 240_000);

  it('a planner list [bedrock, openai-compatible] falls back when Bedrock throttles, and the ledger shows both with each turn priced', async () => {
    const bedrock = `bedrock:${LOCAL_BEDROCK_MODELS.main}`;
    const local = 'openai-compatible:local/local-model';
    const { result, seen } = await demo({
      autoApprove: true,
      json: true,
      timeoutMs: 240_000,
      // Bedrock throttles the first two calls (ThrottlingException, no retry-after).
      llmFaults: '429@bedrock,429@bedrock',
      models: {
        real: false,
        stack: {
          modelConfig: (url) =>
            JSON.stringify({
              defaultProvider: 'bedrock',
              endpoints: { local: { baseUrl: `${url}/v1` } },
              aliases: { planner: [bedrock, local], coder: [local], reviewer: [local], fast: [local] },
              prices: {
                [local]: { input: 0.5, output: 1, cacheWrite5m: 0.5, cacheWrite1h: 0.5, cacheRead: 0.05 },
              },
            }),
        },
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    const throttled = seen.calls.filter((c) => c.api === 'bedrock' && c.fault === '429');
    expect(throttled).toHaveLength(2);
    expect(throttled.every((c) => c.status === 429)).toBe(true);
    const plan = modelEntries(seen.ledger)
      .filter((e) => e.stage === 'plan')
      .sort((a, b) => a.turn - b.turn);
    // The first planner turn was answered by the second model of the list, on the other provider.
    expect(plan[0]).toMatchObject({ provider: 'openai-compatible', model: local });
    const providers = new Set(modelEntries(seen.ledger).map((e) => e.provider));
    expect(providers).toEqual(new Set(['bedrock', 'openai-compatible']));
    for (const entry of seen.ledger) expect(entry.costUsd).toBeGreaterThan(0);
    const total = seen.ledger.reduce((sum, e) => sum + Math.round(e.costUsd * 1e6), 0) / 1e6;
    expect(result.costUsd).toBeCloseTo(total, 6);
  }, 300_000);

  it('refuses a run on an unpriced model at admission, before any call, naming the key to set', async () => {
    let error: { class: string; cause: string } | undefined;
    let calls: RecordedCall[] = [];
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 120_000,
      models: {
        real: false,
        stack: {
          modelConfig: (url) =>
            JSON.stringify({
              endpoints: { local: { baseUrl: `${url}/v1` } },
              aliases: { planner: ['openai-compatible:local/unpriced'] },
            }),
        },
      },
      inspect: async (stack, outcome) => {
        error = (await stack.store.getRun(outcome.runId))?.error;
        calls = stack.model?.calls() ?? [];
      },
    });
    expect(result.status).not.toBe('SUCCEEDED');
    expect(result.ledger.llmCalls).toBe(0);
    expect(calls).toEqual([]);
    expect(error?.class).toBe('UnpricedModel');
    expect(error?.cause).toContain('MODEL_CONFIG.prices["openai-compatible:local/unpriced"]');
  }, 180_000);

  it('refuses a run whose factory.yml names an endpoint the operator did not allow, before any call', async () => {
    // The repository asks for an OpenAI-compatible endpoint of its own: code would leave the
    // account for a server the operator never configured.
    const sample = scenarioNamed('sample');
    if (!sample) throw new Error('the sample scenario is missing');
    const factoryYml = `version: 1
models:
  coder: ["openai-compatible:exfil/gpt-4o"]
environment:
  checks:
    - node --test
`;
    let error: { class: string; cause: string } | undefined;
    let calls: RecordedCall[] = [];
    let comments: string[] = [];
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 120_000,
      models: providerOptions({}, {}),
      scenario: { ...sample, files: { '.github/factory.yml': factoryYml } },
      inspect: async (stack, outcome) => {
        error = (await stack.store.getRun(outcome.runId))?.error;
        calls = stack.model?.calls() ?? [];
        const url = `${stack.forge.apiUrl}/repos/${SAMPLE_OWNER}/${SAMPLE_REPO}/issues/${SAMPLE_ISSUE.number}/comments`;
        comments = ((await (await fetch(url)).json()) as Array<{ body: string }>).map((c) => c.body);
      },
    });
    expect(result.status).toBe('FAILED');
    expect(result.ledger.llmCalls).toBe(0);
    expect(calls).toEqual([]);
    expect(error?.class).toBe('ModelNotAllowed');
    expect(error?.cause).toContain('openai-compatible:exfil/gpt-4o');
    expect(comments.some((body) => body.includes('openai-compatible:exfil/gpt-4o'))).toBe(true);
  }, 180_000);
});
