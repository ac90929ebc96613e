import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendableMessages } from '../../../functions/llm-worker/history';
import { AnthropicLlm } from '../../../functions/shared/adapters/anthropic';
import { OpenAiCompatibleLlm } from '../../../functions/shared/adapters/openai-compatible';
import { LlmError } from '../../../functions/shared/errors';
import type { LlmRequest, LlmResponse } from '../../../functions/shared/ports';
import type { Script } from '../../../local/model/scripts';
import { type ModelServer, startModel } from '../../../local/model/server';

/**
 * Extended thinking through the real SDK against the stand-in: signed thinking blocks when asked,
 * kept and sent back in the tool loop; a follow-up that drops or alters them is the API's 400;
 * an OpenAI-compatible provider gets neither the setting nor the blocks.
 */

const tools: LlmRequest['tools'] = [
  {
    name: 'read_file',
    description: 'Read a file',
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];

/** Reads a file, then says it is done. */
const script: Script = (_request, ctx) =>
  ctx.turn === 0
    ? {
        content: [
          { type: 'text', text: 'Reading it.' },
          { type: 'tool_use', name: 'read_file', input: { path: 'a.js' } },
        ],
        thinking: 'The issue names a.js; reading it shows what to change.',
      }
    : { content: [{ type: 'text', text: 'Done.' }] };

let model: ModelServer;
let llm: AnthropicLlm;

beforeAll(async () => {
  model = await startModel({ script });
  llm = new AnthropicLlm({ apiKey: 'k', baseURL: model.url });
});
afterAll(async () => model?.close());
beforeEach(() => model.reset());

const first: LlmRequest = {
  model: 'claude-test',
  system: 'system',
  tools,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Change a.js.' }] }],
  maxTokens: 4000,
  thinking: { budgetTokens: 2048 },
};

/** The request after `answer`: the answer as stored, then the tool result, as the worker sends them. */
function followUp(answer: LlmResponse, edit: (content: unknown[]) => unknown[] = (c) => c): LlmRequest {
  const call = answer.content.find((b) => (b as { type: string }).type === 'tool_use') as { id: string };
  return {
    ...first,
    messages: sendableMessages([
      { role: 'user', content: first.messages[0]?.content },
      { role: 'assistant', content: edit(answer.content) },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'export {}' }] },
    ]),
  };
}

async function refusal(request: LlmRequest): Promise<string> {
  try {
    await llm.createMessage(request);
  } catch (error) {
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).kind).toBe('permanent');
    return (error as LlmError).message;
  }
  throw new Error('expected a 400');
}

describe('extended thinking', () => {
  it('answers a signed thinking block first, and takes it back unchanged in the tool loop', async () => {
    for (const maxTokens of [4000, 40_000]) {
      const answer = await llm.createMessage({ ...first, maxTokens });
      expect(answer.content[0]).toEqual({
        type: 'thinking',
        thinking: 'The issue names a.js; reading it shows what to change.',
        signature: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      });
      expect(answer.stopReason).toBe('tool_use');
      const next = await llm.createMessage({ ...followUp(answer), maxTokens });
      expect(next.content.map((b) => (b as { type: string }).type)).toEqual(['thinking', 'text']);
    }
    // Streamed (40k max_tokens) or not, the same blocks came and went; the budget was asked each time.
    expect(model.calls().map((c) => [c.stream, c.status, c.thinkingBudget])).toEqual([
      [false, 200, 2048],
      [false, 200, 2048],
      [true, 200, 2048],
      [true, 200, 2048],
    ]);
  });

  it('refuses a tool-loop follow-up without its thinking block, or with the thinking altered', async () => {
    const answer = await llm.createMessage(first);
    const dropped = await refusal(
      followUp(answer, (content) => content.filter((b) => (b as { type: string }).type !== 'thinking')),
    );
    expect(dropped).toContain(
      'messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block',
    );
    const altered = await refusal(
      followUp(answer, (content) =>
        content.map((b) =>
          (b as { type: string }).type === 'thinking' ? { ...(b as object), thinking: 'Something else.' } : b,
        ),
      ),
    );
    expect(altered).toContain('messages.1.content.0: Invalid `signature` in `thinking` block');
  });

  it('refuses a budget the API refuses: under 1024, or not below max_tokens', async () => {
    expect(await refusal({ ...first, thinking: { budgetTokens: 1000 } })).toContain(
      'budget_tokens: Input should be greater than or equal to 1024',
    );
    expect(await refusal({ ...first, maxTokens: 2048 })).toContain(
      '`max_tokens` must be greater than `thinking.budget_tokens`',
    );
  });

  it('Claude 4.7 and later think adaptively: the adapter asks so, and a fixed budget is their 400', async () => {
    const answer = await llm.createMessage({ ...first, model: 'claude-sonnet-5-5' });
    expect((answer.content[0] as { type: string }).type).toBe('thinking');
    const next = await llm.createMessage({ ...followUp(answer), model: 'claude-sonnet-5-5' });
    expect(next.stopReason).toBe('end_turn');
    const raw = await fetch(`${model.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 4000,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(raw.status).toBe(400);
    expect(JSON.stringify(await raw.json())).toContain(
      '\\"thinking.type.enabled\\" is not supported for this model',
    );
  });

  it('an OpenAI-compatible provider gets neither the setting nor the thinking blocks', async () => {
    const answer = await llm.createMessage(first);
    model.reset();
    const openai = new OpenAiCompatibleLlm({ baseURL: `${model.url}/v1`, apiKey: 'k' });
    const next = await openai.createMessage({ ...followUp(answer), model: 'local-model' });
    expect(next.content).toEqual([{ type: 'text', text: 'Done.' }]);
    expect(model.calls().map((c) => [c.api, c.status, c.thinkingBudget])).toEqual([
      ['openai', 200, undefined],
    ]);
  });
});
