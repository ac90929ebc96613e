import { describe, expect, it } from 'vitest';
import { requestParams } from '../../../functions/shared/adapters/anthropic';
import {
  countBreakpoints,
  MAX_CACHE_BREAKPOINTS,
} from '../../../functions/shared/adapters/cache-breakpoints';
import type { LlmRequest } from '../../../functions/shared/ports';
import type { MessagesRequest } from '../../../local/model/api';
import { ApiError } from '../../../local/model/api-error';
import { validateRequest } from '../../../local/model/server';
import { PromptCache } from '../../../local/model/usage';

/** Prompt-cache breakpoints on a conversation whose turns each call many tools. */

const TOOLS: LlmRequest['tools'] = ['read_file', 'grep', 'submit_change'].map((name) => ({
  name,
  description: `${name} tool`,
  input_schema: { type: 'object' },
}));

/** The first user turn, then `turns` assistant turns of `calls` tool calls each, all answered. */
function conversation(turns: number, calls: number): LlmRequest['messages'] {
  const messages: LlmRequest['messages'] = [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Issue #1: add slugify. '.repeat(50) },
        { type: 'text', text: 'You have 40 turns.' },
      ],
    },
  ];
  for (let t = 0; t < turns; t++) {
    const ids = Array.from({ length: calls }, (_, i) => `toolu_${t}_${i}`);
    messages.push({
      role: 'assistant',
      content: [
        { type: 'text', text: `Turn ${t}: reading ${calls} files.` },
        ...ids.map((id, i) => ({ type: 'tool_use', id, name: 'read_file', input: { path: `src/f${i}.js` } })),
      ],
    });
    messages.push({
      role: 'user',
      content: [
        ...ids.map((id, i) => ({
          type: 'tool_result',
          tool_use_id: id,
          content: `contents of f${i} `.repeat(20),
        })),
        { type: 'text', text: `${40 - t - 1} turns left.` },
      ],
    });
  }
  return messages;
}

const request = (messages: LlmRequest['messages']): LlmRequest => ({
  model: 'claude-x',
  system: 'You implement issues.',
  tools: TOOLS,
  messages,
  maxTokens: 16_000,
});

const marked = (content: unknown): number[] =>
  Array.isArray(content)
    ? content.flatMap((b, i) => ((b as { cache_control?: unknown }).cache_control ? [i] : []))
    : [];

describe('cache breakpoints (at most 4, where they pay)', () => {
  it('a turn with 30 tool results: the last tool, the system, the previous end and the last block', () => {
    const messages = conversation(3, 30);
    const before = JSON.stringify(messages);
    const params = requestParams(request(messages));
    expect(JSON.stringify(messages)).toBe(before);
    expect(countBreakpoints(params)).toBe(MAX_CACHE_BREAKPOINTS);
    expect(params.tools?.map((t) => Boolean(t.cache_control))).toEqual([false, false, true]);
    expect(params.system?.[0]?.cache_control).toEqual({ type: 'ephemeral' });
    const last = params.messages.length - 1;
    // The user message before the last assistant turn ends where the previous request's last breakpoint was.
    params.messages.forEach((m, i) => {
      const expected = i === last || i === last - 2 ? [30] : [];
      expect(marked(m.content), `message ${i}`).toEqual(expected);
    });
    // The stand-in checks requests as the API does: this one is accepted.
    expect(() => validateRequest(params)).not.toThrow();
  });

  it('never more than 4, even when the history carries breakpoints of its own', () => {
    const messages = conversation(2, 12).map((m) => ({
      ...m,
      content: (m.content as Array<Record<string, unknown>>).map((b) =>
        b.type === 'tool_result'
          ? {
              ...b,
              cache_control: { type: 'ephemeral' },
              content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }],
            }
          : b,
      ),
    }));
    for (let n = 1; n <= messages.length; n += 2) {
      const params = requestParams(request(messages.slice(0, n)));
      expect(countBreakpoints(params), `${n} messages`).toBeLessThanOrEqual(MAX_CACHE_BREAKPOINTS);
      expect(() => validateRequest(params)).not.toThrow();
    }
  });

  it('the first turn has 3: there is no previous request to read', () => {
    const params = requestParams(request(conversation(0, 0)));
    expect(countBreakpoints(params)).toBe(3);
    expect(marked(params.messages[0]?.content)).toEqual([1]);
  });

  it('each turn reads the previous turn whole from the cache, however many calls it added', () => {
    const cache = new PromptCache(() => 0);
    const account = (messages: LlmRequest['messages']) =>
      cache.account(requestParams(request(messages)) as unknown as MessagesRequest);
    const all = conversation(3, 30);
    const first = account(all.slice(0, 3));
    expect(first.cache_read_input_tokens).toBe(0);
    const second = account(all.slice(0, 5));
    const third = account(all.slice(0, 7));
    // The previous request's whole prompt is read: everything but the newest turn's two messages.
    const whole = (n: number) => {
      const { input_tokens, cache_read_input_tokens, cache_creation_input_tokens } = account(all.slice(0, n));
      return input_tokens + cache_read_input_tokens + cache_creation_input_tokens;
    };
    expect(second.cache_read_input_tokens).toBe(whole(3));
    expect(third.cache_read_input_tokens).toBe(whole(5));
  });

  it('the stand-in refuses a fifth breakpoint with the API 400', () => {
    const params = requestParams(request(conversation(1, 2))) as unknown as Record<string, unknown>;
    const five = { ...params, cache_control: { type: 'ephemeral' }, tools: params.tools };
    const body = JSON.parse(JSON.stringify(five)) as MessagesRequest;
    (body.messages[1]?.content as Array<Record<string, unknown>>)[0] = {
      type: 'text',
      text: 'Turn 0',
      cache_control: { type: 'ephemeral' },
    };
    let error: unknown;
    try {
      validateRequest(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).type).toBe('invalid_request_error');
    expect((error as ApiError).message).toBe(
      'A maximum of 4 blocks with cache_control may be provided. Found 6.',
    );
  });
});
