import { describe, expect, it } from 'vitest';
import type { MessagesRequest } from '../../../local/model/api';
import { FaultQueue, parseFaultList, RollingRateLimiter } from '../../../local/model/faults';
import { buildContext, fitToSchema, offendingPaths } from '../../../local/model/scripts';
import { streamEvents, validateRequest } from '../../../local/model/server';
import { countInputTokens, PromptCache } from '../../../local/model/usage';

/** The stand-in's building blocks: cache accounting, faults, limiter, validation, SSE, scripts. */

const tool = (name: string, ttl?: '1h') => ({
  name,
  description: `${name} `.repeat(40),
  input_schema: { type: 'object' },
  ...(ttl ? { cache_control: { type: 'ephemeral' as const, ttl } } : {}),
});

const request = (overrides: Partial<MessagesRequest> = {}): MessagesRequest => ({
  model: 'm',
  max_tokens: 100,
  tools: [tool('a'), { ...tool('b'), cache_control: { type: 'ephemeral' } }],
  system: [{ type: 'text', text: 'system '.repeat(50), cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content: 'hello there' }],
  ...overrides,
});

describe('PromptCache', () => {
  it('writes the prefix once, reads it while alive, and forgets it after five idle minutes', () => {
    let now = 0;
    const cache = new PromptCache(() => now);
    const total = countInputTokens(request());
    const first = cache.account(request());
    expect(first.cache_read_input_tokens).toBe(0);
    expect(first.cache_creation.ephemeral_5m_input_tokens).toBeGreaterThan(0);
    expect(first.input_tokens + first.cache_creation_input_tokens).toBe(total);

    now += 4 * 60_000;
    const second = cache.account(request());
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBe(0);

    now += 4 * 60_000; // refreshed by the read above: still alive
    expect(cache.account(request()).cache_read_input_tokens).toBeGreaterThan(0);

    now += 6 * 60_000;
    expect(cache.account(request()).cache_read_input_tokens).toBe(0);
  });

  it('bills 1-hour breakpoints as 1h writes, and keeps models apart', () => {
    const cache = new PromptCache(() => 0);
    const usage = cache.account(request({ tools: [tool('a'), tool('b', '1h')], system: 'plain system' }));
    expect(usage.cache_creation.ephemeral_1h_input_tokens).toBeGreaterThan(0);
    expect(usage.cache_creation.ephemeral_5m_input_tokens).toBe(0);
    expect(cache.account(request({ model: 'other' })).cache_read_input_tokens).toBe(0);
  });

  it('looks back at most 20 blocks before a breakpoint', () => {
    const blocks = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        type: 'text' as const,
        text: `block ${i} `.repeat(10),
        ...(i === n - 1 ? { cache_control: { type: 'ephemeral' as const } } : {}),
      }));
    // Caches the prefix ending at tool b (block 1).
    const seed = () => request({ system: 'sys', messages: [{ role: 'user', content: 'x' }] });
    // Same tools without breakpoints; one breakpoint on the last message block.
    const later = (n: number) =>
      request({
        system: 'sys',
        tools: [tool('a'), tool('b')],
        messages: [{ role: 'user', content: blocks(n) }],
      });

    const near = new PromptCache(() => 0);
    near.account(seed());
    // Breakpoint at block 2 + 18 = 20: blocks 1..20 are looked at, block 1 is cached.
    expect(near.account(later(18)).cache_read_input_tokens).toBeGreaterThan(0);

    const far = new PromptCache(() => 0);
    far.account(seed());
    // Breakpoint at block 21: blocks 2..21 are looked at, block 1 is out of reach.
    expect(far.account(later(19)).cache_read_input_tokens).toBe(0);
  });

  it('does not cache prefixes under the minimum', () => {
    const cache = new PromptCache(() => 0, 1_000_000);
    expect(cache.account(request()).cache_creation_input_tokens).toBe(0);
    expect(cache.account(request()).cache_read_input_tokens).toBe(0);
  });
});

describe('faults', () => {
  it('parses fault lists, with an optional retry-after for 429', () => {
    expect(parseFaultList('429,529, 500,reset,spend-limit,429:7')).toEqual([
      { kind: '429' },
      { kind: '529' },
      { kind: '500' },
      { kind: 'reset' },
      { kind: 'spend-limit' },
      { kind: '429', retryAfterSeconds: 7 },
    ]);
    expect(parseFaultList('')).toEqual([]);
    expect(() => parseFaultList('429,418')).toThrow(/unknown model fault "418"/);
    expect(() => parseFaultList('529:3')).toThrow(/only 429/);
  });

  it('is a FIFO', () => {
    const queue = new FaultQueue();
    queue.push('529', { kind: '429', retryAfterSeconds: 2 });
    expect(queue.size).toBe(2);
    expect(queue.take()).toEqual({ kind: '529' });
    expect(queue.take()).toEqual({ kind: '429', retryAfterSeconds: 2 });
    expect(queue.take()).toBeUndefined();
  });

  it('limits requests per rolling minute', () => {
    let now = 0;
    const limiter = new RollingRateLimiter(2, () => now);
    expect(limiter.tryAcquire()).toMatchObject({ ok: true, remaining: 1 });
    now = 30_000;
    expect(limiter.tryAcquire()).toMatchObject({ ok: true, remaining: 0 });
    now = 30_001;
    expect(limiter.tryAcquire()).toMatchObject({ ok: false, retryAfterSeconds: 30 });
    now = 60_000;
    expect(limiter.tryAcquire()).toMatchObject({ ok: true });
    expect(() => new RollingRateLimiter(0, () => 0)).toThrow();
  });
});

describe('validateRequest', () => {
  it('accepts a well-formed tool conversation', () => {
    expect(() =>
      validateRequest(
        request({
          messages: [
            { role: 'user', content: 'go' },
            { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'a', input: {} }] },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
          ],
        }),
      ),
    ).not.toThrow();
  });

  it.each([
    [{ model: undefined }, /model: Field required/],
    [{ max_tokens: 0 }, /max_tokens/],
    [
      { model: 'claude-opus-4-1-20250805', max_tokens: 48_000 },
      /max_tokens: 48000 > 32000, which is the maximum allowed number of output tokens for claude-opus-4-1/,
    ],
    [{ messages: [] }, /at least one message/],
    [{ messages: [{ role: 'assistant', content: 'x' }] }, /first message/],
    [{ tools: [tool('a'), tool('a')] }, /unique/],
    [{ messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, /non-empty/],
    [
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral' } }] },
          { role: 'assistant', content: [{ type: 'text', text: 'b', cache_control: { type: 'ephemeral' } }] },
          { role: 'user', content: [{ type: 'text', text: 'c', cache_control: { type: 'ephemeral' } }] },
        ],
      },
      /maximum of 4 blocks with cache_control/,
    ],
  ])('refuses %j', (overrides, message) => {
    expect(() => validateRequest({ ...request(), ...(overrides as object) })).toThrow(message);
  });
});

describe('streamEvents', () => {
  it('sends message_start without content and the usage totals in message_delta', () => {
    const events = streamEvents({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'a', input: { text: 'x'.repeat(200) } }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: {
        input_tokens: 3,
        output_tokens: 60,
        cache_creation_input_tokens: 10,
        cache_read_input_tokens: 20,
        cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 0 },
        service_tier: 'standard',
      },
    });
    const start = events[0]?.data as { message: { content: unknown[]; usage: { output_tokens: number } } };
    expect(start.message.content).toEqual([]);
    expect(start.message.usage.output_tokens).toBe(1);
    const json = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (e.data as { delta: { partial_json: string } }).delta.partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual({ text: 'x'.repeat(200) });
    const delta = events.at(-2)?.data as { usage: Record<string, number>; delta: { stop_reason: string } };
    expect(delta.delta.stop_reason).toBe('tool_use');
    expect(delta.usage).toMatchObject({ output_tokens: 60, cache_read_input_tokens: 20 });
  });
});

describe('script helpers', () => {
  it('drops undeclared properties only for strict object schemas', () => {
    const strict = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false };
    expect(fitToSchema({ a: 'x', b: 1 }, strict)).toEqual({ a: 'x' });
    expect(fitToSchema({ a: 'x', b: 1 }, { type: 'object', properties: { a: {} } })).toEqual({
      a: 'x',
      b: 1,
    });
  });

  it('finds the offending paths in boundary feedback, and recognises fix mode', () => {
    const ctx = buildContext(
      request({
        tools: [tool('submit_change')],
        messages: [
          {
            role: 'user',
            content:
              'Issue #1: slugify\n\nYour previous change broke the contract; fix this:\n.github/workflows/x.yml is forbidden; src/slugify.js is fine',
          },
        ],
      }),
      2,
    );
    expect(ctx.stage).toBe('implement');
    expect(ctx.fixMode).toBe('boundary');
    expect(offendingPaths(ctx)).toEqual(['.github/workflows/x.yml']);
  });
});
