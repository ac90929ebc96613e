import { describe, expect, it } from 'vitest';
import {
  CLEARED_RESULT,
  MAX_TRIM_LEVEL,
  nextTrimLevel,
  trimKey,
  trimmed,
} from '../../../functions/llm-worker/context-trim';
import { sendableMessages } from '../../../functions/llm-worker/history';
import { MAX_OUTPUT_TOKENS, maxTokensFor } from '../../../functions/llm-worker/output-budget';
import { processLlmMessage } from '../../../functions/llm-worker/turn';
import type { LlmWorkerPorts, Pricing } from '../../../functions/llm-worker/turn-types';
import { Run } from '../../../functions/shared/domain/run';
import { LlmError } from '../../../functions/shared/errors';
import type {
  ConversationTurn,
  Llm,
  LlmRequest,
  LlmResponse,
  Queue,
  Workflow,
} from '../../../functions/shared/ports';
import { FakeStore } from '../../support/fake-store';

/**
 * The LLM worker's side of real model behaviour: what it sends after an empty answer or a cut
 * one, and how it recovers from "prompt is too long".
 */

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const pricing: Pricing = {
  costUsd: (_m, u) => (u.inputTokens * 3 + u.outputTokens * 15) / 1e6,
  worstCaseUsd: (_m, input, maxTokens) => (input * 3 + maxTokens * 15) / 1e6,
};
const usage = {
  inputTokens: 100,
  outputTokens: 10,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
};
const answerText: LlmResponse = {
  model: 'm',
  content: [{ type: 'text', text: 'ok' }],
  stopReason: 'end_turn',
  usage,
};

class ScriptedLlm implements Llm {
  readonly calls: LlmRequest[] = [];
  readonly counted: LlmRequest[] = [];
  constructor(
    private readonly steps: Array<LlmResponse | LlmError>,
    private readonly tokensOf: (request: LlmRequest) => number = () => 1000,
  ) {}
  async createMessage(request: LlmRequest): Promise<LlmResponse> {
    this.calls.push(structuredClone(request));
    const step = this.steps.shift();
    if (!step) throw new Error('no scripted answer left');
    if (step instanceof LlmError) throw step;
    return step;
  }
  async countTokens(request: LlmRequest): Promise<number> {
    this.counted.push(request);
    return this.tokensOf(request);
  }
}

const tooLong = () =>
  new LlmError(
    'prompt_too_long',
    'model call failed: 400 invalid_request_error: prompt is too long: 210000 tokens > 200000 maximum',
  );

type Turn = Pick<ConversationTurn, 'role' | 'content'> & { stopReason?: string };

/** A conversation whose stored turns are `turns`; the worker answers the next one. */
async function worker(
  turns: Turn[],
  steps: Array<LlmResponse | LlmError>,
  tokensOf?: (request: LlmRequest) => number,
  meta: { thinkingBudgetTokens?: number; pricing?: Pricing } = {},
) {
  const store = new FakeStore();
  const runId = '01J00000000000000000000001';
  await store.createRun(
    Run.parse({
      runId,
      kind: 'change',
      repo: 'acme/widgets',
      workItemKey: 'acme/widgets#1',
      status: 'IMPLEMENTING',
      version: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      trigger: { source: 'label', sender: 'alice' },
    }),
  );
  await store.putConversation({
    conversationId: 'conv',
    runId,
    stage: 'implement',
    modelAlias: 'coder',
    system: 'system',
    tools: [],
    maxTokens: 4000,
    ...(meta.thinkingBudgetTokens ? { thinkingBudgetTokens: meta.thinkingBudgetTokens } : {}),
    models: ['m'],
    budgetUsd: 5,
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  for (const [turn, t] of turns.entries())
    await store.putTurn({ conversationId: 'conv', turn, runId, stage: 'implement', createdAt: 'x', ...t });
  const llm = new ScriptedLlm(steps, tokensOf);
  const outcomes: Array<{ ok: boolean; detail: unknown }> = [];
  const workflow = {
    sendTaskSuccess: async (_t: string, output: unknown) => outcomes.push({ ok: true, detail: output }) > 0,
    sendTaskFailure: async (_t: string, error: string, cause: string) =>
      outcomes.push({ ok: false, detail: { error, cause } }) > 0,
  } as unknown as Workflow;
  const queue = { send: async () => {}, changeVisibility: async () => {} } as unknown as Queue;
  const deps: LlmWorkerPorts = {
    store,
    workflow,
    queue,
    llm,
    clock: { now: () => Date.now() },
    log: silent,
    pricing: meta.pricing ?? pricing,
  };
  const next = async (turn: number) =>
    processLlmMessage(
      deps,
      { taskToken: 'token', runId, stage: 'implement', conversationId: 'conv', turn, modelAlias: 'coder' },
      { messageId: `m-${turn}`, receiptHandle: `rh-${turn}`, receiveCount: 1 },
    );
  return { store, llm, outcomes, next };
}

const user = (content: unknown): Turn => ({ role: 'user', content });
const assistant = (content: unknown, stopReason = 'tool_use'): Turn => ({
  role: 'assistant',
  content,
  stopReason,
});
const use = (id: string, input: unknown = { path: 'a' }) => ({
  type: 'tool_use',
  id,
  name: 'read_file',
  input,
});
const result = (id: string, content = 'file body') => ({ type: 'tool_result', tool_use_id: id, content });

describe('what the worker sends', () => {
  it('never sends an empty assistant turn: it is left out and the user turns around it go as one', async () => {
    const { llm, outcomes, next } = await worker(
      [
        user([{ type: 'text', text: 'task' }]),
        assistant([use('t1')]),
        user([result('t1')]),
        assistant([], 'end_turn'),
        user([{ type: 'text', text: 'You ended your turn without calling a tool.' }]),
      ],
      [answerText],
    );
    await next(5);
    expect(outcomes).toEqual([{ ok: true, detail: expect.objectContaining({ stopReason: 'end_turn' }) }]);
    expect(llm.calls[0]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'task' }] },
      { role: 'assistant', content: [use('t1')] },
      {
        role: 'user',
        content: [result('t1'), { type: 'text', text: 'You ended your turn without calling a tool.' }],
      },
    ]);
  });

  it('drops blank text blocks and thinking-only turns, and sends a cut tool input as an object', () => {
    expect(
      sendableMessages([
        user('task'),
        assistant([{ type: 'text', text: '  ' }, use('t1', '{"path": "a')], 'max_tokens'),
        user([result('t1', 'Error: cut')]),
        assistant([{ type: 'thinking', thinking: 'hmm', signature: 's' }], 'end_turn'),
        user([{ type: 'text', text: 'Continue.' }]),
      ]),
    ).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'task' }] },
      { role: 'assistant', content: [use('t1', {})] },
      { role: 'user', content: [result('t1', 'Error: cut'), { type: 'text', text: 'Continue.' }] },
    ]);
  });

  it('doubles max_tokens after an answer cut at max_tokens, per cut in a row, up to a ceiling', async () => {
    const cut = assistant([use('t1')], 'max_tokens');
    const whole = assistant([use('t1')], 'tool_use');
    const turns = (list: Turn[]) =>
      list.map((t, i) => ({ ...t, conversationId: 'c', turn: i, runId: 'r', stage: 's', createdAt: 'x' }));
    expect(maxTokensFor(4000, turns([user('x'), whole, user('y')]))).toBe(4000);
    expect(maxTokensFor(4000, turns([user('x'), cut, user('y')]))).toBe(8000);
    expect(maxTokensFor(4000, turns([user('x'), cut, user('y'), cut, user('z')]))).toBe(16000);
    expect(maxTokensFor(4000, turns([user('x'), cut, user('y'), whole, user('z')]))).toBe(4000);
    expect(maxTokensFor(16000, turns(Array.from({ length: 6 }, () => [cut, user('y')]).flat()))).toBe(
      MAX_OUTPUT_TOKENS,
    );

    // Through the worker: the call and its budget reservation use the larger value.
    const { llm, next } = await worker([user('task'), cut, user([result('t1', 'Error: cut')])], [answerText]);
    await next(3);
    expect(llm.calls[0]?.maxTokens).toBe(8000);
  });
});

describe('prompt is too long', () => {
  const long = (n: number): Turn[] => {
    const turns: Turn[] = [user([{ type: 'text', text: 'the task and plan' }])];
    for (let i = 1; i <= n; i++) {
      turns.push(
        assistant([
          { ...use(`t${i}`), name: 'write_file', input: { path: `f${i}`, content: 'x'.repeat(500) } },
        ]),
      );
      turns.push(user([result(`t${i}`, `result ${i}`)]));
    }
    return turns;
  };

  it('clears older tool results, keeping the first message and the latest whole, more at each level', () => {
    const messages = sendableMessages(long(6)); // 13 messages
    expect(trimmed(messages, 0)).toEqual(messages);
    const one = trimmed(messages, 1);
    expect(one[0]).toEqual(messages[0]);
    expect(one.slice(-8)).toEqual(messages.slice(-8));
    expect(JSON.stringify(one.slice(1, -8))).toContain(CLEARED_RESULT);
    expect(JSON.stringify(one.slice(1, -8))).toContain('x'.repeat(500)); // inputs stay at level 1
    const three = trimmed(messages, MAX_TRIM_LEVEL);
    expect(three.slice(-2)).toEqual(messages.slice(-2));
    expect(JSON.stringify(three.slice(1, -2))).not.toMatch(/result \d|x{500}/);
    // Tool calls and results keep their ids and order.
    const ids = (list: typeof messages) => JSON.stringify(list).match(/t\d+/g);
    expect(ids(three)).toEqual(ids(messages));
  });

  it('skips levels that would clear nothing, and has no level left when nothing old can go', () => {
    expect(nextTrimLevel(sendableMessages(long(3)), 0)).toBe(2); // 7 messages: level 1 keeps them all
    expect(nextTrimLevel(sendableMessages(long(2)), 0)).toBe(3);
    expect(nextTrimLevel(sendableMessages(long(6)), 0)).toBe(1);
    expect(nextTrimLevel(sendableMessages(long(1)), 0)).toBeUndefined();
  });

  it('is recovered from: the call is made again with older results cleared, and later turns start there', async () => {
    const { llm, outcomes, store, next } = await worker(long(6), [tooLong(), answerText, answerText]);
    await next(13);
    expect(outcomes).toEqual([{ ok: true, detail: expect.objectContaining({ turn: 13 }) }]);
    expect(llm.calls).toHaveLength(2);
    expect(JSON.stringify(llm.calls[0]?.messages)).not.toContain(CLEARED_RESULT);
    expect(JSON.stringify(llm.calls[1]?.messages)).toContain(CLEARED_RESULT);
    expect((await store.getTurn('conv', 13))?.content).toEqual(answerText.content);

    // The next turn starts at the level reached: no failed call first.
    await store.putTurn({
      conversationId: 'conv',
      turn: 14,
      runId: '01J00000000000000000000001',
      stage: 'implement',
      role: 'user',
      content: [{ type: 'text', text: 'go on' }],
      createdAt: 'x',
    });
    await next(15);
    expect(llm.calls).toHaveLength(3);
    expect(JSON.stringify(llm.calls[2]?.messages)).toContain(CLEARED_RESULT);
  });

  it('is avoided: a prompt counted near the model’s window is trimmed before the first call', async () => {
    // 50 tokens a character: the whole conversation is well over a 200,000-token window, its
    // trimmed form under it (model `m` is not in the catalogue: the smallest window counts).
    const tokensOf = (request: LlmRequest) => JSON.stringify(request.messages).length * 50;
    const { llm, outcomes, store, next } = await worker(long(6), [answerText], tokensOf);
    expect(tokensOf({ messages: sendableMessages(long(6)) } as LlmRequest)).toBeGreaterThan(200_000);
    await next(13);
    expect(outcomes).toEqual([{ ok: true, detail: expect.objectContaining({ turn: 13 }) }]);
    expect(llm.calls).toHaveLength(1);
    expect(JSON.stringify(llm.calls[0]?.messages)).toContain(CLEARED_RESULT);
    expect(tokensOf(llm.calls[0] as LlmRequest) + 4000).toBeLessThanOrEqual(200_000);
    expect(await store.cacheGet(trimKey('conv'))).toMatch(/^[1-3]$/);
  });

  it('is bounded: still too long after the last level fails the task, saying so', async () => {
    const steps = Array.from({ length: MAX_TRIM_LEVEL + 1 }, tooLong);
    const { llm, outcomes, next } = await worker(long(6), steps);
    await next(13);
    expect(llm.calls).toHaveLength(MAX_TRIM_LEVEL + 1);
    expect(outcomes).toEqual([
      {
        ok: false,
        detail: {
          error: 'LlmPermanentError',
          cause: expect.stringContaining('still too long with older tool results cleared'),
        },
      },
    ]);
  });
});

describe('extended thinking', () => {
  const thought = { type: 'thinking', thinking: 'I should read a first.', signature: 'c2lnbmVk' };

  it('asks for the budget, counts it within max_tokens (and the reservation), and sends thinking back unchanged', async () => {
    const reserved: number[] = [];
    const { llm, outcomes, next } = await worker(
      [user('task'), assistant([thought, use('t1')]), user([result('t1')])],
      [answerText],
      undefined,
      {
        thinkingBudgetTokens: 2048,
        pricing: {
          ...pricing,
          worstCaseUsd: (model, input, maxTokens) => {
            reserved.push(maxTokens);
            return pricing.worstCaseUsd(model, input, maxTokens);
          },
        },
      },
    );
    await next(3);
    expect(outcomes[0]?.ok).toBe(true);
    const [call] = llm.calls;
    expect(call?.thinking).toEqual({ budgetTokens: 2048 });
    expect(call?.maxTokens).toBe(4000 + 2048);
    expect(reserved).toEqual([4000 + 2048]);
    // The thinking block goes back first and byte for byte, signature included.
    expect(JSON.stringify(call?.messages[1]?.content)).toBe(JSON.stringify([thought, use('t1')]));
  });

  it('keeps the thinking budget on top of a doubled answer budget after a cut', async () => {
    const { llm, next } = await worker(
      [user('task'), assistant([thought, { type: 'text', text: 'long…' }], 'max_tokens'), user('go on')],
      [answerText],
      undefined,
      { thinkingBudgetTokens: 2048 },
    );
    await next(3);
    expect(llm.calls[0]?.maxTokens).toBe(8000 + 2048);
  });

  it('asks for nothing when the conversation has no thinking budget', async () => {
    const { llm, next } = await worker([user('task')], [answerText]);
    await next(1);
    expect(llm.calls[0]?.thinking).toBeUndefined();
    expect(llm.calls[0]?.maxTokens).toBe(4000);
  });
});
