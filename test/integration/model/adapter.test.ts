import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicLlm, estimateInputTokens } from '../../../functions/shared/adapters/anthropic';
import { LlmError } from '../../../functions/shared/errors';
import type { LlmRequest } from '../../../functions/shared/ports';
import type { Script } from '../../../local/model/scripts';
import { type ModelServer, startModel } from '../../../local/model/server';

/** The Anthropic adapter against the local stand-in, through real HTTP and the real SDK. */

const tools: LlmRequest['tools'] = [
  {
    name: 'read_file',
    description: 'Read a file',
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'write_file',
    description: 'Write a file',
    input_schema: {
      type: 'object',
      properties: { path: { type: 'string' }, content: { type: 'string' } },
      required: ['path', 'content'],
    },
  },
];

const longContent = `export const answer = 42;\n${'// a line long enough to be streamed in several input_json_delta chunks\n'.repeat(5)}`;

/** Reads a file on the first turn, writes one on the second, then says it is done. */
const twoStepScript: Script = (_request, ctx) => {
  if (ctx.turn === 0) {
    return {
      content: [
        { type: 'text', text: 'Reading the file first.' },
        { type: 'tool_use', name: 'read_file', input: { path: 'src/index.js' } },
      ],
    };
  }
  if (ctx.turn === 1) {
    return {
      content: [{ type: 'tool_use', name: 'write_file', input: { path: 'src/a.js', content: longContent } }],
    };
  }
  return { content: [{ type: 'text', text: `Done after ${ctx.exchanges.length} tool calls.` }] };
};

const baseRequest = (overrides: Partial<LlmRequest> = {}): LlmRequest => ({
  model: 'claude-test-1',
  system: 'You are a careful engineer. '.repeat(20),
  tools,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Please add a module.' }] }],
  maxTokens: 1024,
  ...overrides,
});

async function failure(promise: Promise<unknown>): Promise<LlmError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LlmError);
    return error as LlmError;
  }
  throw new Error('expected the call to fail');
}

describe('AnthropicLlm against the local model stand-in', () => {
  let model: ModelServer;
  let llm: AnthropicLlm;

  beforeAll(async () => {
    model = await startModel({ script: twoStepScript });
    llm = new AnthropicLlm({ apiKey: 'test-key', baseURL: model.url, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await model.close();
  });
  beforeEach(() => {
    model.reset();
    model.setScript(twoStepScript);
  });

  it('returns a tool call with real ids, stop reason and usage (non-streaming)', async () => {
    const response = await llm.createMessage(baseRequest());
    expect(response.model).toBe('claude-test-1');
    expect(response.stopReason).toBe('tool_use');
    expect(response.content).toEqual([
      { type: 'text', text: 'Reading the file first.' },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_01\w{22}$/),
        name: 'read_file',
        input: { path: 'src/index.js' },
      },
    ]);
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    const [call] = model.calls();
    expect(call).toMatchObject({
      path: '/v1/messages',
      status: 200,
      stream: false,
      toolCalls: ['read_file'],
    });
    expect(call?.tools).toEqual(['read_file', 'write_file']);
  });

  it('continues the conversation with tool results the server validates, ending with end_turn', async () => {
    const first = await llm.createMessage(baseRequest());
    const use = first.content[1] as { id: string };
    const messages: LlmRequest['messages'] = [
      ...baseRequest().messages,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'export {};\n' }] },
    ];
    const second = await llm.createMessage(baseRequest({ messages }));
    expect(second.content).toEqual([
      expect.objectContaining({
        type: 'tool_use',
        name: 'write_file',
        input: { path: 'src/a.js', content: longContent },
      }),
    ]);
    const secondUse = second.content[0] as { id: string };
    const third = await llm.createMessage(
      baseRequest({
        messages: [
          ...messages,
          { role: 'assistant', content: second.content },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: secondUse.id, content: 'wrote src/a.js' }],
          },
        ],
      }),
    );
    expect(third.stopReason).toBe('end_turn');
    expect(third.content).toEqual([{ type: 'text', text: 'Done after 2 tool calls.' }]);
  });

  it('streams when max_tokens requires it and assembles the same message', async () => {
    const plain = await llm.createMessage(baseRequest());
    model.reset();
    const streamed = await llm.createMessage(baseRequest({ maxTokens: 32_000 }));
    expect(model.calls()[0]?.stream).toBe(true);
    expect(streamed.stopReason).toBe(plain.stopReason);
    expect(streamed.usage).toEqual(plain.usage);
    expect(
      (streamed.content as Array<{ type: string; name?: string; input?: unknown }>).map((b) => b.type),
    ).toEqual(['text', 'tool_use']);

    // A tool input long enough to arrive in several input_json_delta chunks is reassembled.
    const first = streamed.content[1] as { id: string };
    const second = await llm.createMessage(
      baseRequest({
        maxTokens: 32_000,
        messages: [
          ...baseRequest().messages,
          { role: 'assistant', content: streamed.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: first.id, content: 'ok' }] },
        ],
      }),
    );
    expect((second.content[0] as { input: unknown }).input).toEqual({
      path: 'src/a.js',
      content: longContent,
    });
    expect(model.calls().every((c) => c.stream)).toBe(true);
  });

  it('sends the real SSE event sequence', async () => {
    const response = await fetch(`${model.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'm',
        max_tokens: 100,
        stream: true,
        tools: tools.map((t) => ({ ...t })),
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    const events = [...(await response.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(events[0]).toBe('message_start');
    expect(events.slice(1, 3)).toEqual(['content_block_start', 'ping']);
    expect(events).toContain('content_block_delta');
    expect(events.filter((e) => e === 'content_block_start')).toHaveLength(2);
    expect(events.filter((e) => e === 'content_block_stop')).toHaveLength(2);
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
  });

  it('classifies each queued fault, in order, then answers normally', async () => {
    model.faults.push({ kind: '429', retryAfterSeconds: 7 }, '529', '500', 'reset', 'spend-limit', '429');

    const rateLimited = await failure(llm.createMessage(baseRequest()));
    expect(rateLimited.kind).toBe('rate_limited');
    expect(rateLimited.retryAfterSeconds).toBe(7);
    expect(rateLimited.name).toBe('LlmTransientError');
    expect((await failure(llm.createMessage(baseRequest()))).kind).toBe('overloaded');
    expect((await failure(llm.createMessage(baseRequest()))).kind).toBe('server');
    expect((await failure(llm.createMessage(baseRequest()))).kind).toBe('network');
    const spend = await failure(llm.createMessage(baseRequest()));
    expect(spend.kind).toBe('spend_limit');
    expect(spend.name).toBe('LlmPermanentError');
    expect(spend.retryAfterSeconds).toBeUndefined();
    // A plain 429 right after is not mistaken for a spend limit (default retry-after of the stand-in: 1 s).
    const plain = await failure(llm.createMessage(baseRequest()));
    expect(plain.kind).toBe('rate_limited');
    expect(plain.retryAfterSeconds).toBe(1);

    expect(model.faults.size).toBe(0);
    expect((await llm.createMessage(baseRequest())).stopReason).toBe('tool_use');
    expect(model.calls().map((c) => c.fault ?? c.status)).toEqual([
      '429',
      '529',
      '500',
      'reset',
      'spend-limit',
      '429',
      200,
    ]);
  });

  it('fails streamed calls the same way', async () => {
    model.faults.push('529', 'reset');
    expect((await failure(llm.createMessage(baseRequest({ maxTokens: 32_000 })))).kind).toBe('overloaded');
    expect((await failure(llm.createMessage(baseRequest({ maxTokens: 32_000 })))).kind).toBe('network');
  });

  it('answers invalid conversations with a 400 the adapter treats as permanent', async () => {
    const orphan = await failure(
      llm.createMessage(
        baseRequest({
          messages: [
            { role: 'user', content: 'start' },
            {
              role: 'assistant',
              content: [{ type: 'tool_use', id: 'toolu_a', name: 'read_file', input: {} }],
            },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_b', content: 'x' }] },
          ],
        }),
      ),
    );
    expect(orphan.kind).toBe('permanent');
    expect(orphan.message).toContain('invalid_request_error');
    expect(orphan.message).toContain('toolu_b');

    const repeated = await failure(
      llm.createMessage(
        baseRequest({
          messages: [
            { role: 'user', content: 'a' },
            { role: 'user', content: 'b' },
          ],
        }),
      ),
    );
    expect(repeated.kind).toBe('permanent');
    expect(repeated.message).toMatch(/roles must alternate/);

    const unanswered = await failure(
      llm.createMessage(
        baseRequest({
          messages: [
            { role: 'user', content: 'start' },
            {
              role: 'assistant',
              content: [{ type: 'tool_use', id: 'toolu_a', name: 'read_file', input: {} }],
            },
            { role: 'user', content: 'no result' },
          ],
        }),
      ),
    );
    expect(unanswered.message).toMatch(/without `tool_result` blocks/);
    expect(model.calls().map((c) => c.status)).toEqual([400, 400, 400]);
  });

  it('caches the stable prefix: a write on the first turn, reads on later turns', async () => {
    const first = await llm.createMessage(baseRequest());
    expect(first.usage.cacheReadTokens).toBe(0);
    expect(first.usage.cacheWrite5mTokens).toBeGreaterThan(0);
    expect(first.usage.cacheWrite1hTokens).toBe(0);

    const use = first.content[1] as { id: string };
    const next = baseRequest({
      messages: [
        ...baseRequest().messages,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'export {};\n' }] },
      ],
    });
    const second = await llm.createMessage(next);
    // Everything the first call wrote is read back; only the new turn is written.
    expect(second.usage.cacheReadTokens).toBe(first.usage.cacheWrite5mTokens + first.usage.inputTokens);
    expect(second.usage.cacheWrite5mTokens).toBeGreaterThan(0);

    // Usage adds up to the counted prompt size.
    const counted = await llm.countTokens(next);
    const { inputTokens, cacheReadTokens, cacheWrite5mTokens } = second.usage;
    expect(inputTokens + cacheReadTokens + cacheWrite5mTokens).toBe(counted);

    // Another conversation with the same system prompt and tools reads that shared prefix.
    const other = await llm.createMessage(
      baseRequest({ messages: [{ role: 'user', content: 'Something else.' }] }),
    );
    expect(other.usage.cacheReadTokens).toBeGreaterThan(0);
    expect(other.usage.cacheReadTokens).toBeLessThan(first.usage.cacheWrite5mTokens);
  });

  it('counts tokens through the endpoint, and estimates when it is unreachable', async () => {
    const request = baseRequest();
    const counted = await llm.countTokens(request);
    expect(counted).toBeGreaterThan(100);
    expect(model.calls().at(-1)?.path).toBe('/v1/messages/count_tokens');

    const offline = new AnthropicLlm({ apiKey: 'k', baseURL: 'http://127.0.0.1:9', timeoutMs: 2_000 });
    const estimated = await offline.countTokens(request);
    expect(estimated).toBe(estimateInputTokens(request));
    expect(estimated).toBeGreaterThan(counted);
  });
});

describe('the stand-in rate limiter', () => {
  let model: ModelServer;
  let now = 1_000_000;

  beforeAll(async () => {
    model = await startModel({ script: twoStepScript, rateLimitPerMinute: 3, now: () => now });
  });
  afterAll(async () => {
    await model.close();
  });

  it('refuses the request over N per rolling minute with an accurate retry-after', async () => {
    const llm = new AnthropicLlm({ apiKey: 'k', baseURL: model.url, timeoutMs: 10_000 });
    for (let i = 0; i < 3; i++) {
      await llm.createMessage(baseRequest());
      now += 5_000;
    }
    // Accepted at t0, t0+5s, t0+10s; now t0+15s: the first leaves the window at t0+60s.
    const refused = await failure(llm.createMessage(baseRequest()));
    expect(refused.kind).toBe('rate_limited');
    expect(refused.retryAfterSeconds).toBe(45);

    now += 44_500; // t0+59.5s: still full, half a second left, rounded up
    expect((await failure(llm.createMessage(baseRequest()))).retryAfterSeconds).toBe(1);

    now += 500; // t0+60s: the first request has left the window
    await expect(llm.createMessage(baseRequest())).resolves.toMatchObject({ stopReason: 'tool_use' });
    const refusedAgain = await failure(llm.createMessage(baseRequest()));
    expect(refusedAgain.retryAfterSeconds).toBe(5); // the t0+5s request leaves at t0+65s

    expect(model.calls().map((c) => c.fault ?? c.status)).toEqual([
      200,
      200,
      200,
      'rate-limit',
      'rate-limit',
      200,
      'rate-limit',
    ]);
  });

  it('reports the window in anthropic-ratelimit headers', async () => {
    model.reset();
    const response = await fetch(`${model.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: JSON.stringify({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBe('3');
    expect(response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('2');
  });

  it('hands the window to the worker on successes (JSON and streamed) and on 429s', async () => {
    model.reset();
    const t0 = now;
    const llm = new AnthropicLlm({ apiKey: 'k', baseURL: model.url, timeoutMs: 10_000 });
    const first = await llm.createMessage(baseRequest());
    expect(first.rateLimit).toEqual({ remaining: 2, resetAt: t0 + 60_000, limit: 3 });
    now += 2_000;
    const streamed = await llm.createMessage({ ...baseRequest(), maxTokens: 64_000 });
    expect(streamed.rateLimit).toEqual({ remaining: 1, resetAt: t0 + 60_000, limit: 3 });
    await llm.createMessage(baseRequest());
    now += 1_000;
    const refused = await failure(llm.createMessage(baseRequest()));
    expect(refused.kind).toBe('rate_limited');
    expect(refused.rateLimit).toEqual({ remaining: 0, resetAt: t0 + 60_000, limit: 3 });
    expect(refused.retryAfterSeconds).toBe(57);
    expect(model.calls().map((c) => [c.stream, c.status])).toEqual([
      [false, 200],
      [true, 200],
      [false, 200],
      [false, 429],
    ]);
  });
});
