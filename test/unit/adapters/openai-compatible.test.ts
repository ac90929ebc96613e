import OpenAI, { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import {
  classifyOpenAiError,
  durationMs,
  fittingMaxTokens,
  OpenAiCompatibleLlm,
  openAiRateLimitOf,
  toChatMessages,
} from '../../../functions/shared/adapters/openai-compatible';
import { LlmError } from '../../../functions/shared/errors';
import type { LlmRequest } from '../../../functions/shared/ports';
import { readAssistantTurn } from '../../../functions/stages/stop-reasons';

const NOW = Date.parse('2030-01-01T00:00:00Z');

const request: LlmRequest = {
  model: 'qwen2.5-coder:7b',
  system: 'You are the planner.',
  tools: [
    {
      name: 'read_file',
      description: 'Reads a file',
      input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
    },
  ],
  messages: [
    { role: 'user', content: 'Plan issue 1.' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Reading two files.' },
        { type: 'tool_use', id: 'call_a', name: 'read_file', input: { path: 'a.ts' } },
        { type: 'tool_use', id: 'call_b', name: 'read_file', input: { path: 'b.ts' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_a', content: 'export const a = 1;' },
        {
          type: 'tool_result',
          tool_use_id: 'call_b',
          content: [{ type: 'text', text: 'missing' }],
          is_error: true,
        },
        { type: 'text', text: 'Go on.' },
      ],
    },
  ],
  maxTokens: 4096,
};

/** An adapter over the real SDK whose fetch answers `body` (and records what was sent). */
function adapterAnswering(status: number, body: unknown, headers: Record<string, string> = {}) {
  const sent: Array<{ url: string; body: Record<string, unknown>; headers: Headers }> = [];
  const client = new OpenAI({
    baseURL: 'http://127.0.0.1:1/v1',
    apiKey: 'test-key',
    maxRetries: 0,
    fetch: async (url, init) => {
      sent.push({
        url: String(url),
        body: JSON.parse(String(init?.body)) as Record<string, unknown>,
        headers: new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]),
      });
      return new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json', ...headers },
      });
    },
  });
  return { llm: new OpenAiCompatibleLlm({ baseURL: 'unused', client }), sent };
}

const completion = (message: Record<string, unknown>, finish: string, usage?: Record<string, unknown>) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'qwen2.5-coder:7b',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }],
  ...(usage ? { usage } : {}),
});
/** Chat request bodies, as a server sees them. */
type SentBody = { max_tokens: number; messages: Array<{ role: string }> } & Record<string, unknown>;

/**
 * A server that answers 400 with the error `refusal` gives for a body, or else a short completion;
 * `sent` keeps every body it was sent.
 */
function refusingClient(
  sent: SentBody[],
  refusal: (body: SentBody) => Record<string, unknown> | undefined,
): OpenAI {
  return new OpenAI({
    baseURL: 'http://127.0.0.1:1/v1',
    apiKey: 'k',
    maxRetries: 0,
    fetch: async (_url, init) => {
      const body = JSON.parse(String(init?.body)) as SentBody;
      sent.push(body);
      const error = refusal(body);
      return new Response(
        JSON.stringify(
          error
            ? { error }
            : completion({ content: 'Done.' }, 'stop', {
                prompt_tokens: 5,
                completion_tokens: 1,
                total_tokens: 6,
              }),
        ),
        { status: error ? 400 : 200, headers: { 'content-type': 'application/json' } },
      );
    },
  });
}

const call = (id: string, name: string, args: string) => ({
  id,
  type: 'function',
  function: { name, arguments: args },
});

describe('toChatMessages', () => {
  it('turns tool_use blocks into tool_calls and tool_result blocks into tool messages before the text', () => {
    const messages = toChatMessages(request);
    expect(messages).toEqual([
      { role: 'system', content: 'You are the planner.' },
      { role: 'user', content: 'Plan issue 1.' },
      {
        role: 'assistant',
        content: 'Reading two files.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } },
          { id: 'call_b', type: 'function', function: { name: 'read_file', arguments: '{"path":"b.ts"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'export const a = 1;' },
      { role: 'tool', tool_call_id: 'call_b', content: 'Error: missing' },
      { role: 'user', content: 'Go on.' },
    ]);
    // For a server that refuses user right after tool (Mistral's validator), the text ends the last tool message.
    expect(toChatMessages(request, { textAfterToolsInTool: true }).slice(-2)).toEqual([
      { role: 'tool', tool_call_id: 'call_a', content: 'export const a = 1;' },
      { role: 'tool', tool_call_id: 'call_b', content: 'Error: missing\n\nGo on.' },
    ]);
  });
});

describe('OpenAiCompatibleLlm', () => {
  it('posts to /chat/completions with the tools as functions and max_tokens, and never retries', async () => {
    const { llm, sent } = adapterAnswering(
      200,
      completion({ content: 'Done.' }, 'stop', { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }),
    );
    await llm.createMessage(request);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe('http://127.0.0.1:1/v1/chat/completions');
    expect(sent[0]?.headers.get('authorization')).toBe('Bearer test-key');
    expect(sent[0]?.body).toMatchObject({
      model: 'qwen2.5-coder:7b',
      max_tokens: 4096,
      tools: [{ type: 'function', function: { name: 'read_file', parameters: { type: 'object' } } }],
    });
    expect(sent[0]?.body.stream).toBe(false);
  });

  it('returns parallel tool calls as tool_use blocks in order, with stop reason tool_use', async () => {
    const { llm } = adapterAnswering(
      200,
      completion(
        {
          content: null,
          tool_calls: [
            call('c1', 'read_file', '{"path":"x.ts"}'),
            call('c2', 'read_file', '{"path":"y.ts"}'),
          ],
        },
        'tool_calls',
        {
          prompt_tokens: 120,
          completion_tokens: 30,
          total_tokens: 150,
          prompt_tokens_details: { cached_tokens: 100 },
        },
      ),
    );
    const response = await llm.createMessage(request);
    expect(response.stopReason).toBe('tool_use');
    expect(response.content).toEqual([
      { type: 'tool_use', id: 'c1', name: 'read_file', input: { path: 'x.ts' } },
      { type: 'tool_use', id: 'c2', name: 'read_file', input: { path: 'y.ts' } },
    ]);
    // Cached prompt tokens are a cache read, not input.
    expect(response.usage).toEqual({
      inputTokens: 20,
      outputTokens: 30,
      cacheReadTokens: 100,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
    });
  });

  it('treats tool calls answered with finish_reason stop as tool_use (some servers say stop)', async () => {
    const { llm } = adapterAnswering(
      200,
      completion({ content: '', tool_calls: [call('c1', 'read_file', '{"path":"x.ts"}')] }, 'stop', {
        prompt_tokens: 5,
        completion_tokens: 5,
        total_tokens: 10,
      }),
    );
    expect((await llm.createMessage(request)).stopReason).toBe('tool_use');
  });

  it('maps finish_reason length to max_tokens and keeps a tool call the limit cut in half, last, so only it is refused', async () => {
    const { llm } = adapterAnswering(
      200,
      completion(
        {
          content: 'Writing the file',
          tool_calls: [
            call('c1', 'read_file', '{"path":"x.ts"}'),
            call('c2', 'write_file', '{"path":"y.ts","content":"exp'),
          ],
        },
        'length',
        { prompt_tokens: 5, completion_tokens: 4096, total_tokens: 4101 },
      ),
    );
    const response = await llm.createMessage(request);
    expect(response.stopReason).toBe('max_tokens');
    expect(response.content).toEqual([
      { type: 'text', text: 'Writing the file' },
      { type: 'tool_use', id: 'c1', name: 'read_file', input: { path: 'x.ts' } },
      { type: 'tool_use', id: 'c2', name: 'write_file', input: {} },
    ]);
    // The stage runner refuses the last call of a cut turn: the cut write_file, not the whole read_file.
    const reading = readAssistantTurn(response, undefined, 'submit_change');
    expect(reading.kind).toBe('calls');
    if (reading.kind !== 'calls') return;
    expect([...reading.refused.keys()]).toEqual(['c2']);
    expect(reading.refused.get('c2')).toMatch(/your write_file call was cut off/);
    expect(reading.calls.map((c) => c.id)).toEqual(['c1', 'c2']);
  });

  it('gives a call without an id, or with an id already used in the answer, an id of its own', async () => {
    const { llm } = adapterAnswering(
      200,
      completion(
        {
          content: null,
          tool_calls: [
            { type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } },
            { id: '', type: 'function', function: { name: 'read_file', arguments: '{"path":"b.ts"}' } },
            call('0', 'read_file', '{"path":"c.ts"}'),
            call('0', 'read_file', '{"path":"d.ts"}'),
          ],
        },
        'tool_calls',
        { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      ),
    );
    const response = await llm.createMessage(request);
    const ids = (response.content as Array<{ id: string }>).map((b) => b.id);
    expect(ids.every((id) => typeof id === 'string' && /^[A-Za-z0-9_-]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(4);
    expect(ids[2]).toBe('0');
    // Every call is one the stage runner runs and answers by its id.
    const reading = readAssistantTurn(response, undefined, 'submit_plan');
    expect(reading.kind === 'calls' ? reading.calls.map((c) => c.id) : []).toEqual(ids);
  });

  it('takes a tool call without a type (Mistral, some vLLM and Ollama builds) as a function call', async () => {
    const { llm } = adapterAnswering(
      200,
      completion(
        {
          content: null,
          tool_calls: [{ id: 'c1', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } }],
        },
        'tool_calls',
        { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      ),
    );
    const response = await llm.createMessage(request);
    expect(response.stopReason).toBe('tool_use');
    expect(response.content).toEqual([
      { type: 'tool_use', id: 'c1', name: 'read_file', input: { path: 'a.ts' } },
    ]);
  });

  it('asks again with a max_tokens that fits when the window holds the prompt but not the output budget', async () => {
    const sent: SentBody[] = [];
    const window = 32_768;
    const client = refusingClient(sent, (body) =>
      3684 + body.max_tokens > window
        ? {
            // vLLM's answer (OpenAI's has the same wording)
            message: `This model's maximum context length is ${window} tokens. However, you requested ${3684 + body.max_tokens} tokens (3684 in the messages, ${body.max_tokens} in the completion). Please reduce the length of the messages or completion.`,
            type: 'BadRequestError',
            param: null,
            code: 400,
          }
        : undefined,
    );
    const llm = new OpenAiCompatibleLlm({ baseURL: 'unused', client });
    expect((await llm.createMessage({ ...request, maxTokens: 32_000 })).stopReason).toBe('end_turn');
    expect(sent.map((b) => b.max_tokens)).toEqual([32_000, window - 3684 - 64]);
  });

  it('reads the window and prompt of vLLM, newer vLLM and llama.cpp context errors', () => {
    const apiError = (status: number, error: Record<string, unknown>) =>
      APIError.generate(status, { error }, undefined, new Headers());
    const newer = apiError(400, {
      message:
        "This model's maximum context length is 128000 tokens. However, you requested 65535 output tokens and your prompt contains at least 62466 input tokens, for a total of at least 128001 tokens.",
    });
    expect(fittingMaxTokens(newer, 65_535)).toBe(128_000 - 62_466 - 64);
    const llamaCpp = apiError(400, {
      code: 400,
      message: 'the request exceeds the available context size, try increasing it',
      type: 'exceed_context_size_error',
      n_prompt_tokens: 4390,
      n_ctx: 16_384,
    });
    expect(fittingMaxTokens(llamaCpp, 16_000)).toBe(16_384 - 4390 - 64);
    // The prompt alone is too long: no output budget helps, the call is prompt_too_long.
    const promptTooLong = apiError(400, { ...llamaCpp, n_prompt_tokens: 16_000 });
    expect(fittingMaxTokens(promptTooLong, 8000)).toBeUndefined();
    expect(classifyOpenAiError(promptTooLong, NOW).kind).toBe('prompt_too_long');
  });

  it("asks again without a user message after tool messages once a server refuses one (Mistral's validator)", async () => {
    const sent: SentBody[] = [];
    const client = refusingClient(sent, (body) =>
      body.messages.some((m, i) => m.role === 'user' && body.messages[i - 1]?.role === 'tool')
        ? {
            message: "Unexpected role 'user' after role 'tool'",
            type: 'BadRequestError',
            param: null,
            code: 400,
          }
        : undefined,
    );
    const llm = new OpenAiCompatibleLlm({ baseURL: 'unused', client });
    const devstral = { ...request, model: 'devstral-small-test' };
    expect((await llm.createMessage(devstral)).stopReason).toBe('end_turn');
    expect((await llm.createMessage(devstral)).stopReason).toBe('end_turn');
    expect(sent.map((b) => b.messages.at(-1)?.role)).toEqual(['user', 'tool', 'tool']);
  });

  it("asks with max_completion_tokens once a model refuses max_tokens (OpenAI's reasoning models)", async () => {
    const sent: SentBody[] = [];
    const client = refusingClient(sent, (body) =>
      'max_tokens' in body
        ? {
            message:
              "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            type: 'invalid_request_error',
            param: 'max_tokens',
            code: 'unsupported_parameter',
          }
        : undefined,
    );
    const llm = new OpenAiCompatibleLlm({ baseURL: 'unused', client });
    const reasoning = { ...request, model: 'o4-mini-test' };
    expect((await llm.createMessage(reasoning)).stopReason).toBe('end_turn');
    expect((await llm.createMessage(reasoning)).stopReason).toBe('end_turn');
    expect(sent.map((b) => ('max_tokens' in b ? 'max_tokens' : 'max_completion_tokens'))).toEqual([
      'max_tokens',
      'max_completion_tokens',
      'max_completion_tokens',
    ]);
    expect(sent[1]?.max_completion_tokens).toBe(4096);
  });

  it('charges an answer without usage an estimate that errs high, never zero', async () => {
    const { llm } = adapterAnswering(200, completion({ content: 'A plan with several steps.' }, 'stop'));
    const response = await llm.createMessage(request);
    const promptChars = JSON.stringify(request.messages).length + request.system.length;
    expect(response.usage.inputTokens).toBeGreaterThanOrEqual(Math.ceil(promptChars / 4));
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    expect(response.stopReason).toBe('end_turn');
  });

  it('keeps a tool call whose arguments are not JSON as an input every tool schema refuses', async () => {
    const { llm } = adapterAnswering(
      200,
      completion(
        {
          content: null,
          tool_calls: [call('c1', 'read_file', "{path: 'x.ts'"), call('c2', 'read_file', '[1]')],
        },
        'tool_calls',
        { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      ),
    );
    const response = await llm.createMessage(request);
    expect(response.stopReason).toBe('tool_use');
    expect(response.content).toEqual([
      { type: 'tool_use', id: 'c1', name: 'read_file', input: { invalid_json_arguments: "{path: 'x.ts'" } },
      { type: 'tool_use', id: 'c2', name: 'read_file', input: { invalid_json_arguments: '[1]' } },
    ]);
  });

  it('maps content_filter to refusal and an answer without choices to a server error', async () => {
    expect(
      (await adapterAnswering(200, completion({ content: '' }, 'content_filter')).llm.createMessage(request))
        .stopReason,
    ).toBe('refusal');
    await expect(
      adapterAnswering(200, { id: 'x', object: 'chat.completion', choices: [] }).llm.createMessage(request),
    ).rejects.toMatchObject({ kind: 'server' });
  });

  it('classifies a 429 with its retry-after, and reports the requests window', async () => {
    const { llm } = adapterAnswering(
      429,
      { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
      { 'retry-after': '7', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6s' },
    );
    const error = await llm.createMessage(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 7 });
    expect((error as LlmError).rateLimit?.remaining).toBe(0);
  });
});

describe('classifyOpenAiError', () => {
  const apiError = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
    APIError.generate(status, { error }, undefined, new Headers(headers));

  it.each([
    [429, { message: 'slow down' }, {}, 'rate_limited'],
    [429, { message: 'You exceeded your current quota', code: 'insufficient_quota' }, {}, 'spend_limit'],
    [402, { message: 'Payment required' }, {}, 'spend_limit'],
    [503, { message: 'model is loading' }, {}, 'overloaded'],
    [500, { message: 'boom' }, {}, 'server'],
    // llama.cpp (issue 19774): the same prompt over its context is sometimes a 500, sometimes a 400.
    [500, { message: 'Context size has been exceeded.', type: 'server_error' }, {}, 'prompt_too_long'],
    [
      500,
      {
        message:
          'the request exceeds the available context size. try increasing the context size or enable context shift',
        type: 'exceed_context_size_error',
        n_prompt_tokens: 1407,
        n_ctx: 256,
      },
      {},
      'prompt_too_long',
    ],
    [
      400,
      { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' },
      {},
      'prompt_too_long',
    ],
    [400, { message: 'tools.0: bad schema' }, {}, 'permanent'],
    [401, { message: 'Incorrect API key' }, {}, 'permanent'],
    [404, { message: 'model not found' }, {}, 'permanent'],
  ])('%i %j → %s', (status, body, headers, kind) => {
    expect(classifyOpenAiError(apiError(status, body, headers), NOW).kind).toBe(kind);
  });

  it('waits for x-ratelimit-reset-requests when a 429 has no retry-after', () => {
    const error = classifyOpenAiError(
      apiError(429, { message: 'x' }, { 'x-ratelimit-reset-requests': '1m30s' }),
      NOW,
    );
    expect(error.retryAfterSeconds).toBe(90);
  });

  it('reads OpenAI durations and nothing else', () => {
    expect(durationMs('6m0s')).toBe(360_000);
    expect(durationMs('20ms')).toBe(20);
    expect(durationMs('1.5s')).toBe(1500);
    expect(durationMs('soon')).toBeUndefined();
    expect(
      openAiRateLimitOf(
        new Headers({
          'x-ratelimit-remaining-requests': '3',
          'x-ratelimit-reset-requests': '2s',
          'x-ratelimit-limit-requests': '60',
        }),
        NOW,
      ),
    ).toEqual({ remaining: 3, resetAt: NOW + 2000, limit: 60 });
  });

  it('classifies a failed connection as network', async () => {
    const client = new OpenAI({
      baseURL: 'http://127.0.0.1:1/v1',
      apiKey: 'k',
      maxRetries: 0,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const llm = new OpenAiCompatibleLlm({ baseURL: 'unused', client });
    await expect(llm.createMessage(request)).rejects.toMatchObject({ kind: 'network' });
  });
});
