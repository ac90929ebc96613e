import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../../local/demo';
import { providerOptions } from '../../../local/model/choice';
import { type ModelServer, startModel } from '../../../local/model/server';

/**
 * `OPENAI_BASE_URL=… OPENAI_API_KEY=… npm run demo -- --provider openai-compatible --model NAME`:
 * every model call goes to that endpoint (here a stand-in of its own, outside the stack), under
 * that model name, priced 0; the stack starts no model of its own.
 */
describe('--provider openai-compatible with OPENAI_BASE_URL', () => {
  let external: ModelServer;
  beforeAll(async () => {
    external = await startModel();
  });
  afterAll(async () => external.close());

  it('reads the endpoint and key from the environment, and refuses a base URL that is not http(s)', () => {
    expect(providerOptions({ provider: 'openai-compatible' }, {})).toEqual({
      stack: { provider: 'openai-compatible' },
      real: false,
    });
    expect(
      providerOptions(
        { provider: 'openai-compatible', model: 'llama3.1:8b' },
        { OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/', OPENAI_API_KEY: 'ollama' },
      ),
    ).toEqual({
      stack: {
        provider: 'openai-compatible',
        modelName: 'llama3.1:8b',
        openaiBaseUrl: 'http://127.0.0.1:11434/v1',
        openaiApiKey: 'ollama',
      },
      real: true,
    });
    expect(() =>
      providerOptions({ provider: 'openai-compatible' }, { OPENAI_BASE_URL: 'localhost:11434' }),
    ).toThrow(/OPENAI_BASE_URL must be an http\(s\) URL/);
    expect(() => providerOptions({ provider: 'vertex' }, {})).toThrow(/--provider must be one of/);
  });

  it('sends every call of a demo run to that endpoint under --model, at no cost', async () => {
    let standIn: unknown = 'not inspected';
    let ledger: Array<{ kind?: string; costUsd: number }> = [];
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 180_000,
      unsafeSandbox: true,
      models: providerOptions(
        { provider: 'openai-compatible', model: 'my-local-model' },
        { OPENAI_BASE_URL: `${external.url}/v1`, OPENAI_API_KEY: 'sk-local' },
      ),
      inspect: async (stack, outcome) => {
        standIn = stack.model;
        ledger = await stack.store.listLedger(outcome.runId);
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(standIn).toBeUndefined();
    const calls = external.calls();
    expect(calls.length).toBe(result.ledger.llmCalls);
    for (const call of calls) {
      expect(call).toMatchObject({
        api: 'openai',
        path: '/v1/chat/completions',
        model: 'my-local-model',
        status: 200,
      });
    }
    // The model is free: the run's cost is its sandbox time alone.
    const models = ledger.filter((entry) => entry.kind !== 'sandbox');
    expect(models.length).toBe(result.ledger.llmCalls);
    expect(models.every((entry) => entry.costUsd === 0)).toBe(true);
    const sandboxMicros = ledger
      .filter((entry) => entry.kind === 'sandbox')
      .reduce((sum, entry) => sum + Math.round(entry.costUsd * 1e6), 0);
    expect(Math.round(result.costUsd * 1e6)).toBe(sandboxMicros);
    expect(result.scenario).toBeNull();
  }, 240_000);
});
