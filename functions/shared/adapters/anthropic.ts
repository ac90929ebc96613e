import Anthropic, { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { LlmError, type LlmErrorKind } from '../errors';
import type { Llm, LlmRateLimit, LlmRequest, LlmResponse, LlmUsage } from '../ports';
import { maxOutputTokensOf, thinkingModeOf } from '../domain/models';
import { MIN_THINKING_BUDGET } from '../domain/thinking';
import { withMessageBreakpoints } from './cache-breakpoints';
import { DEFAULT_RETRY_AFTER_SECONDS, estimateInputTokens, headerOf, retryAfterSeconds } from './llm-http';

export { DEFAULT_RETRY_AFTER_SECONDS, estimateInputTokens, retryAfterSeconds } from './llm-http';

/**
 * The `Llm` port over `@anthropic-ai/sdk` (SPEC §4).
 *
 * - The SDK never retries (`maxRetries: 0`): a failed call becomes an `LlmError` and the LLM
 *   worker delays the SQS message instead of sleeping inside the function.
 * - Prompt caching: at most 4 `cache_control` breakpoints (the API's limit): the last tool, the
 *   system prompt, where the previous turn's request ended and the last block, so each turn reads
 *   the previous turn's prefix however many tool calls it added (cache-breakpoints.ts).
 * - Streaming when the SDK requires it for the requested `max_tokens` (it refuses non-streaming
 *   requests that may take longer than 10 minutes: max_tokens above ~21,333, less for some models).
 *
 * - Rate-limit window: `anthropic-ratelimit-requests-remaining` / `-reset` / `-limit` are returned as
 *   `rateLimit` on every answer (read with `.withResponse()`, or the stream's `response`) and on a
 *   429's LlmError, so the worker can pace itself before the API refuses (llm-worker/pacing.ts).
 *
 * Failure classification (`classifyLlmError`), in order:
 * 1. spend_limit: the body's `details.error_code` is a spend-limit/billing code
 *    (`enforced_spend_limit_reached`, `contract_spend_limit_reached`,
 *    `linked_organization_spend_limit_reached`, `linked_organization_billing_unavailable`), or the
 *    error type is `billing_error`, or the status is 402, or a 400/429 whose message names the
 *    credit balance, a spend/usage limit or billing (for answers without an error code);
 * 2. rate_limited: any other 429, or a streamed `rate_limit_error`; `retryAfterSeconds` from
 *    `retry-after-ms` / `retry-after` (seconds or HTTP date), else
 *    `anthropic-ratelimit-requests-reset`, else DEFAULT_RETRY_AFTER_SECONDS;
 * 3. overloaded: 529, or a streamed `overloaded_error`;
 * 4. server: other 5xx, 408, 409, or a streamed `api_error`;
 * 5. network: connection errors, timeouts and aborts (no HTTP status);
 * 6. prompt_too_long: a 400 saying the prompt does not fit the context window
 *    (`prompt is too long: 210000 tokens > 200000 maximum`, or input plus max_tokens over the limit);
 * 7. permanent: every other 4xx, and anything that is not an SDK error (a bug retrying cannot fix).
 */

/** Per-model non-streaming ceilings the SDK enforces (its internal MODEL_NONSTREAMING_TOKENS). */
const MODEL_NONSTREAMING_TOKENS: Record<string, number> = {
  'claude-opus-4@20250514': 8192,
  'anthropic.claude-opus-4-1-20250805-v1:0': 8192,
  'claude-opus-4-1@20250805': 8192,
};

const SPEND_LIMIT_CODES = new Set([
  'enforced_spend_limit_reached',
  'contract_spend_limit_reached',
  'linked_organization_spend_limit_reached',
  'linked_organization_billing_unavailable',
]);
const SPEND_LIMIT_MESSAGE = /credit balance|spend(?:ing)? limit|usage limit|billing/i;
const PROMPT_TOO_LONG_MESSAGE = /prompt is too long|exceed(?:s|ed)? (?:the )?context (?:limit|window)/i;

export interface AnthropicLlmOptions {
  apiKey: string;
  /** Unset = the real API; the embedded stack points it at the local stand-in. */
  baseURL?: string;
  /** Per-request timeout (default 10 minutes; keep it under the Lambda's own timeout). */
  timeoutMs?: number;
  /** For tests: a prebuilt client. */
  client?: Anthropic;
}

type ToolParam = Anthropic.Messages.Tool;
type MessageParam = Anthropic.Messages.MessageParam;

const EPHEMERAL = { type: 'ephemeral' } as const;

function toMessages(messages: LlmRequest['messages']): MessageParam[] {
  return withMessageBreakpoints(
    messages.map((m) => ({
      role: m.role,
      content:
        typeof m.content === 'string'
          ? m.content
          : (structuredClone(Array.isArray(m.content) ? m.content : [m.content]) as Array<
              Record<string, unknown>
            >),
    })),
  ) as MessageParam[];
}

/** A fixed budget where the model takes one; adaptive (within max_tokens) where it refuses it. */
const thinkingParam = (model: string, budgetTokens: number): Anthropic.Messages.ThinkingConfigParam =>
  thinkingModeOf(model) === 'adaptive'
    ? { type: 'adaptive' }
    : { type: 'enabled', budget_tokens: budgetTokens };

/**
 * max_tokens and the thinking budget within the model's output ceiling: the stage's answer budget
 * (doubled after a cut) plus its thinking budget can pass what a model accepts (32,000 for Opus
 * 4.1), which the API refuses with a 400. Over the ceiling, thinking gives way first (never under
 * the API's minimum), then the answer.
 */
export function outputBudget(request: LlmRequest): { maxTokens: number; thinkingBudget?: number } {
  const thinking = request.thinking?.budgetTokens;
  const ceiling = maxOutputTokensOf(request.model);
  if (ceiling === undefined || request.maxTokens <= ceiling)
    return { maxTokens: request.maxTokens, ...(thinking ? { thinkingBudget: thinking } : {}) };
  if (!thinking) return { maxTokens: ceiling };
  const answer = request.maxTokens - thinking;
  return {
    maxTokens: ceiling,
    thinkingBudget: Math.max(MIN_THINKING_BUDGET, Math.min(thinking, ceiling - answer)),
  };
}

export function requestParams(request: LlmRequest) {
  const budget = outputBudget(request);
  const tools: ToolParam[] = request.tools.map((t, i) => ({
    name: t.name,
    description: t.description,
    input_schema: t.input_schema as ToolParam['input_schema'],
    ...(i === request.tools.length - 1 ? { cache_control: EPHEMERAL } : {}),
  }));
  return {
    model: request.model,
    max_tokens: budget.maxTokens,
    system: request.system
      ? [{ type: 'text' as const, text: request.system, cache_control: EPHEMERAL }]
      : undefined,
    tools: tools.length > 0 ? tools : undefined,
    messages: toMessages(request.messages),
    ...(budget.thinkingBudget ? { thinking: thinkingParam(request.model, budget.thinkingBudget) } : {}),
  };
}

export function toLlmUsage(usage: Anthropic.Messages.Usage): LlmUsage {
  const creation = usage.cache_creation;
  const write5m = creation ? creation.ephemeral_5m_input_tokens : (usage.cache_creation_input_tokens ?? 0);
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0,
    cacheWrite5mTokens: write5m ?? 0,
    cacheWrite1hTokens: creation?.ephemeral_1h_input_tokens ?? 0,
  };
}

/** Plain content blocks, safe to store and to send back as the next request's history. */
export function toContent(content: Anthropic.Messages.ContentBlock[]): unknown[] {
  return content.map((block) => {
    switch (block.type) {
      case 'text':
        return { type: 'text', text: block.text };
      case 'tool_use':
        return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
      default:
        return JSON.parse(JSON.stringify(block)) as unknown;
    }
  });
}

/** Whether the SDK would refuse this request without streaming. */
export function requiresStreaming(client: Anthropic, model: string, maxTokens: number): boolean {
  try {
    client.calculateNonstreamingTimeout(maxTokens, MODEL_NONSTREAMING_TOKENS[model]);
    return false;
  } catch {
    return true;
  }
}

/**
 * The requests window from `anthropic-ratelimit-requests-remaining` / `-reset` (RFC 3339) and
 * `-limit`, or undefined when the answer did not carry them (the worker then paces on 429s only).
 */
export function rateLimitOf(headers: unknown): LlmRateLimit | undefined {
  const remainingHeader = headerOf(headers, 'anthropic-ratelimit-requests-remaining');
  const remaining = Number(remainingHeader);
  const resetAt = Date.parse(headerOf(headers, 'anthropic-ratelimit-requests-reset') ?? '');
  if (!remainingHeader || !Number.isFinite(remaining) || remaining < 0 || !Number.isFinite(resetAt))
    return undefined;
  const limit = Number(headerOf(headers, 'anthropic-ratelimit-requests-limit'));
  return { remaining, resetAt, ...(Number.isFinite(limit) && limit > 0 ? { limit } : {}) };
}

function isSpendLimit(error: APIError): boolean {
  if (error.errorCode && SPEND_LIMIT_CODES.has(error.errorCode)) return true;
  if (error.type === 'billing_error' || error.status === 402) return true;
  const message = error.apiMessage ?? error.message;
  return (error.status === 429 || error.status === 400) && SPEND_LIMIT_MESSAGE.test(message);
}

/** Maps any failure of a model call to an LlmError (see the rules at the top of this file). */
export function classifyLlmError(error: unknown, now = Date.now()): LlmError {
  if (error instanceof LlmError) return error;
  const wrap = (kind: LlmErrorKind, message: string, retryAfter?: number) => {
    const rateLimit = error instanceof APIError ? rateLimitOf(error.headers) : undefined;
    return new LlmError(kind, message, retryAfter, { cause: error, ...(rateLimit ? { rateLimit } : {}) });
  };

  if (error instanceof APIUserAbortError || error instanceof APIConnectionError) {
    return wrap('network', `model call failed to connect or timed out: ${error.message}`);
  }
  if (error instanceof APIError) {
    const status = error.status;
    const detail = error.apiMessage ?? error.message;
    const label = `model call failed: ${status ?? 'stream error'} ${error.type ?? 'error'}: ${detail}${error.requestID ? ` (request ${error.requestID})` : ''}`;
    if (isSpendLimit(error)) return wrap('spend_limit', label);
    if (status === 429 || (status === undefined && error.type === 'rate_limit_error')) {
      return wrap(
        'rate_limited',
        label,
        retryAfterSeconds(error.headers, now) ?? DEFAULT_RETRY_AFTER_SECONDS,
      );
    }
    if (status === 529 || (status === undefined && error.type === 'overloaded_error')) {
      return wrap('overloaded', label, retryAfterSeconds(error.headers, now));
    }
    if (status === undefined) {
      // An error event inside a stream: the server failed after it had started answering.
      return wrap(error.type === 'invalid_request_error' ? 'permanent' : 'server', label);
    }
    if (status >= 500 || status === 408 || status === 409) {
      return wrap('server', label, retryAfterSeconds(error.headers, now));
    }
    if (status === 400 && PROMPT_TOO_LONG_MESSAGE.test(detail)) return wrap('prompt_too_long', label);
    return wrap('permanent', label);
  }
  const message = error instanceof Error ? error.message : String(error);
  return wrap('permanent', `model call failed unexpectedly: ${message}`);
}

export class AnthropicLlm implements Llm {
  private readonly client: Anthropic;
  private readonly timeoutMs: number;

  constructor(options: AnthropicLlmOptions) {
    this.timeoutMs = options.timeoutMs ?? 10 * 60_000;
    this.client =
      options.client ??
      new Anthropic({
        apiKey: options.apiKey,
        ...(options.baseURL ? { baseURL: options.baseURL } : {}),
        maxRetries: 0,
      });
  }

  async createMessage(request: LlmRequest): Promise<LlmResponse> {
    const params = requestParams(request);
    const requestOptions = { timeout: this.timeoutMs };
    let message: Anthropic.Messages.Message;
    let headers: Headers | undefined;
    try {
      if (requiresStreaming(this.client, request.model, params.max_tokens)) {
        const stream = this.client.messages.stream(params, requestOptions);
        message = await stream.finalMessage();
        headers = stream.response?.headers;
      } else {
        const { data, response } = await this.client.messages
          .create({ ...params, stream: false }, requestOptions)
          .withResponse();
        message = data;
        headers = response.headers;
      }
    } catch (error) {
      throw classifyLlmError(error);
    }
    const rateLimit = rateLimitOf(headers);
    return {
      model: message.model,
      content: toContent(message.content),
      stopReason: message.stop_reason ?? 'end_turn',
      usage: toLlmUsage(message.usage),
      ...(rateLimit ? { rateLimit } : {}),
    };
  }

  async countTokens(request: LlmRequest): Promise<number> {
    const { max_tokens: _unused, ...params } = requestParams(request);
    try {
      const counted = await this.client.messages.countTokens(params, { timeout: 30_000 });
      return counted.input_tokens;
    } catch {
      // Counting only sizes the budget reservation: an estimate that errs high keeps it fail-closed.
      return estimateInputTokens(request);
    }
  }
}
