import Anthropic, { APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import {
  AnthropicLlm,
  classifyLlmError,
  DEFAULT_RETRY_AFTER_SECONDS,
  rateLimitOf,
  requestParams,
  requiresStreaming,
  retryAfterSeconds,
  toLlmUsage,
} from '../../../functions/shared/adapters/anthropic';
import { LlmError } from '../../../functions/shared/errors';
import type { LlmRequest } from '../../../functions/shared/ports';

const NOW = Date.parse('2030-01-01T00:00:00Z');

const apiError = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  APIError.generate(status, { type: 'error', error }, undefined, new Headers(headers));

describe('classifyLlmError', () => {
  it.each([
    [429, { type: 'rate_limit_error', message: 'slow down' }, {}, 'rate_limited'],
    [
      429,
      { type: 'rate_limit_error', message: 'ramp', details: { error_code: 'ramp_limit_exceeded' } },
      {},
      'rate_limited',
    ],
    [
      429,
      { type: 'rate_limit_error', message: 'x', details: { error_code: 'enforced_spend_limit_reached' } },
      {},
      'spend_limit',
    ],
    [
      429,
      { type: 'rate_limit_error', message: 'x', details: { error_code: 'contract_spend_limit_reached' } },
      {},
      'spend_limit',
    ],
    [429, { type: 'rate_limit_error', message: 'You have reached your spend limit.' }, {}, 'spend_limit'],
    [
      400,
      { type: 'invalid_request_error', message: 'Your credit balance is too low to access the API.' },
      {},
      'spend_limit',
    ],
    [402, { type: 'billing_error', message: 'Payment required' }, {}, 'spend_limit'],
    [529, { type: 'overloaded_error', message: 'Overloaded' }, {}, 'overloaded'],
    [500, { type: 'api_error', message: 'Internal' }, {}, 'server'],
    [503, { type: 'api_error', message: 'Unavailable' }, {}, 'server'],
    [408, { type: 'timeout_error', message: 'Timeout' }, {}, 'server'],
    [400, { type: 'invalid_request_error', message: 'messages: roles must alternate' }, {}, 'permanent'],
    [
      400,
      { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' },
      {},
      'prompt_too_long',
    ],
    [
      400,
      {
        type: 'invalid_request_error',
        message: 'input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000',
      },
      {},
      'prompt_too_long',
    ],
    [401, { type: 'authentication_error', message: 'invalid x-api-key' }, {}, 'permanent'],
    [404, { type: 'not_found_error', message: 'model: claude-nope' }, {}, 'permanent'],
  ])('%i %j → %s', (status, error, headers, kind) => {
    expect(classifyLlmError(apiError(status, error, headers), NOW).kind).toBe(kind);
  });

  it('reads retry-after (seconds, HTTP date, ms) and falls back to a default', () => {
    const rateLimit = { type: 'rate_limit_error', message: 'slow down' };
    expect(classifyLlmError(apiError(429, rateLimit, { 'retry-after': '12' }), NOW).retryAfterSeconds).toBe(
      12,
    );
    expect(
      classifyLlmError(apiError(429, rateLimit, { 'retry-after': new Date(NOW + 30_000).toUTCString() }), NOW)
        .retryAfterSeconds,
    ).toBe(30);
    expect(
      classifyLlmError(apiError(429, rateLimit, { 'retry-after-ms': '2500' }), NOW).retryAfterSeconds,
    ).toBe(3);
    expect(
      classifyLlmError(
        apiError(429, rateLimit, {
          'anthropic-ratelimit-requests-reset': new Date(NOW + 20_000).toISOString(),
        }),
        NOW,
      ).retryAfterSeconds,
    ).toBe(20);
    expect(classifyLlmError(apiError(429, rateLimit), NOW).retryAfterSeconds).toBe(
      DEFAULT_RETRY_AFTER_SECONDS,
    );
    expect(retryAfterSeconds(new Headers({ 'retry-after': '99999' }), NOW)).toBe(3600);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
  });

  it('carries the requests window of a 429 when the API sent it', () => {
    const resetAt = NOW + 4_250;
    const error = classifyLlmError(
      apiError(
        429,
        { type: 'rate_limit_error', message: 'slow down' },
        {
          'retry-after': '5',
          'anthropic-ratelimit-requests-limit': '120',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': new Date(resetAt).toISOString(),
        },
      ),
      NOW,
    );
    expect(error.rateLimit).toEqual({ remaining: 0, resetAt, limit: 120 });
    expect(classifyLlmError(apiError(429, { type: 'rate_limit_error', message: 'x' }), NOW).rateLimit).toBe(
      undefined,
    );
  });

  it('classifies errors raised inside a stream by their type', () => {
    const midStream = (type: string) =>
      new APIError(
        undefined,
        { type: 'error', error: { type, message: type } },
        undefined,
        new Headers(),
        type as never,
      );
    expect(classifyLlmError(midStream('overloaded_error')).kind).toBe('overloaded');
    expect(classifyLlmError(midStream('rate_limit_error')).kind).toBe('rate_limited');
    expect(classifyLlmError(midStream('api_error')).kind).toBe('server');
  });

  it('treats connection errors and timeouts as network, and unknown errors as permanent', () => {
    expect(classifyLlmError(new APIConnectionTimeoutError()).kind).toBe('network');
    const bug = classifyLlmError(new TypeError('x is not a function'));
    expect(bug.kind).toBe('permanent');
    expect(bug.name).toBe('LlmPermanentError');
    const already = new LlmError('server', 'x');
    expect(classifyLlmError(already)).toBe(already);
  });

  it('names the error type and API message, not the raw body', () => {
    const error = classifyLlmError(apiError(529, { type: 'overloaded_error', message: 'Overloaded' }));
    expect(error.message).toBe('model call failed: 529 overloaded_error: Overloaded');
    expect(error.name).toBe('LlmTransientError');
  });
});

describe('requiresStreaming', () => {
  const client = new Anthropic({ apiKey: 'k' });
  it('follows the SDK rule: more than ~10 minutes of expected output, or a model ceiling', () => {
    expect(requiresStreaming(client, 'claude-sonnet-4-5', 21_333)).toBe(false);
    expect(requiresStreaming(client, 'claude-sonnet-4-5', 21_334)).toBe(true);
    expect(requiresStreaming(client, 'claude-opus-4@20250514', 8_192)).toBe(false);
    expect(requiresStreaming(client, 'claude-opus-4@20250514', 8_193)).toBe(true);
  });
});

describe('toLlmUsage', () => {
  it('splits cache writes by TTL when the API reports them', () => {
    expect(
      toLlmUsage({
        input_tokens: 10,
        output_tokens: 20,
        cache_read_input_tokens: 300,
        cache_creation_input_tokens: 70,
        cache_creation: { ephemeral_5m_input_tokens: 50, ephemeral_1h_input_tokens: 20 },
      } as Anthropic.Messages.Usage),
    ).toEqual({
      inputTokens: 10,
      outputTokens: 20,
      cacheReadTokens: 300,
      cacheWrite5mTokens: 50,
      cacheWrite1hTokens: 20,
    });
  });
  it('counts an unsplit cache write as 5-minute', () => {
    expect(
      toLlmUsage({
        input_tokens: 1,
        output_tokens: 2,
        cache_read_input_tokens: null,
        cache_creation_input_tokens: 40,
        cache_creation: null,
      } as Anthropic.Messages.Usage),
    ).toEqual({
      inputTokens: 1,
      outputTokens: 2,
      cacheReadTokens: 0,
      cacheWrite5mTokens: 40,
      cacheWrite1hTokens: 0,
    });
  });
});

describe('AnthropicLlm request shape', () => {
  const message = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-x',
    content: [{ type: 'text', text: 'hi', citations: null }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };

  function fakeClient(bodies: unknown[], urls: string[]) {
    return new Anthropic({
      apiKey: 'k',
      maxRetries: 0,
      fetch: async (url: string | URL | Request, init?: RequestInit) => {
        urls.push(String(url));
        bodies.push(JSON.parse(String(init?.body)));
        return new Response(
          JSON.stringify(String(url).endsWith('count_tokens') ? { input_tokens: 77 } : message),
          {
            status: 200,
            headers: { 'content-type': 'application/json' },
          },
        );
      },
    });
  }

  const request: LlmRequest = {
    model: 'claude-x',
    system: 'system prompt',
    tools: [
      { name: 'a', description: 'A', input_schema: { type: 'object' } },
      { name: 'b', description: 'B', input_schema: { type: 'object' } },
    ],
    messages: [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'a', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
    ],
    maxTokens: 4096,
  };

  it('puts cache breakpoints on the last tool, the system prompt, the previous turn end and the last block, without mutating the input', async () => {
    const bodies: unknown[] = [];
    const llm = new AnthropicLlm({ apiKey: 'k', client: fakeClient(bodies, []) });
    const before = JSON.stringify(request);
    const response = await llm.createMessage(request);
    expect(JSON.stringify(request)).toBe(before);
    const body = bodies[0] as {
      tools: Array<{ cache_control?: unknown }>;
      system: Array<{ text: string; cache_control?: unknown }>;
      messages: Array<{ content: Array<{ cache_control?: unknown }> | string }>;
      max_tokens: number;
      stream?: boolean;
    };
    expect(body.tools.map((t) => t.cache_control)).toEqual([undefined, { type: 'ephemeral' }]);
    expect(body.system).toEqual([
      { type: 'text', text: 'system prompt', cache_control: { type: 'ephemeral' } },
    ]);
    expect(body.messages[0]?.content).toEqual([
      { type: 'text', text: 'first', cache_control: { type: 'ephemeral' } },
    ]);
    expect(body.messages[2]?.content).toEqual([
      { type: 'tool_result', tool_use_id: 't1', content: 'ok', cache_control: { type: 'ephemeral' } },
    ]);
    expect(body.max_tokens).toBe(4096);
    expect(body.stream).toBe(false);
    // Stored content is plain: no SDK-only nulls such as citations.
    expect(response.content).toEqual([{ type: 'text', text: 'hi' }]);
  });

  it("keeps max_tokens within the model's output ceiling, thinking giving way first", () => {
    const sent = (model: string, maxTokens: number, budgetTokens?: number) => {
      const params = requestParams({
        ...request,
        model,
        maxTokens,
        ...(budgetTokens ? { thinking: { budgetTokens } } : {}),
      });
      return [params.max_tokens, params.thinking];
    };
    // implement (16,000) after a cut (doubled to 32,000) with 16,000 of thinking: 48,000, over
    // Opus 4.1's 32,000, which the API refuses with a 400.
    expect(sent('claude-opus-4-1', 48_000, 16_000)).toEqual([
      32_000,
      { type: 'enabled', budget_tokens: 1024 },
    ]);
    // plan (8,000) with 64,000 of thinking on Haiku 4.5 (64,000 at most): the answer keeps its 8,000.
    expect(sent('claude-haiku-4-5', 72_000, 64_000)).toEqual([
      64_000,
      { type: 'enabled', budget_tokens: 56_000 },
    ]);
    // Without thinking, on a Bedrock id of the same model; within the ceiling, nothing changes.
    expect(sent('global.anthropic.claude-opus-4-1-20250805-v1:0', 40_000)).toEqual([32_000, undefined]);
    expect(sent('claude-sonnet-4-6', 24_000, 8_000)).toEqual([
      24_000,
      { type: 'enabled', budget_tokens: 8_000 },
    ]);
    expect(sent('claude-unlisted-9', 100_000)).toEqual([100_000, undefined]);
  });

  it('counts tokens without max_tokens through count_tokens', async () => {
    const bodies: unknown[] = [];
    const urls: string[] = [];
    const llm = new AnthropicLlm({ apiKey: 'k', client: fakeClient(bodies, urls) });
    expect(await llm.countTokens(request)).toBe(77);
    expect(urls[0]).toMatch(/\/v1\/messages\/count_tokens$/);
    expect(bodies[0]).not.toHaveProperty('max_tokens');
  });
});

describe('rateLimitOf', () => {
  it('reads remaining and the RFC 3339 reset, and ignores incomplete or malformed headers', () => {
    const reset = '2030-01-01T00:00:30.500Z';
    expect(
      rateLimitOf(
        new Headers({
          'anthropic-ratelimit-requests-remaining': '7',
          'anthropic-ratelimit-requests-reset': reset,
        }),
      ),
    ).toEqual({ remaining: 7, resetAt: Date.parse(reset) });
    expect(rateLimitOf(new Headers({ 'anthropic-ratelimit-requests-remaining': '7' }))).toBeUndefined();
    expect(
      rateLimitOf(
        new Headers({
          'anthropic-ratelimit-requests-remaining': 'many',
          'anthropic-ratelimit-requests-reset': reset,
        }),
      ),
    ).toBeUndefined();
    expect(rateLimitOf(undefined)).toBeUndefined();
  });
});
