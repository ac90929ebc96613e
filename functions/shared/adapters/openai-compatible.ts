import { randomUUID } from 'node:crypto';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { LlmError, type LlmErrorKind } from '../errors';
import type { Llm, LlmRateLimit, LlmRequest, LlmResponse, LlmUsage } from '../ports';
import { DEFAULT_RETRY_AFTER_SECONDS, estimateInputTokens, headerOf, retryAfterSeconds } from './llm-http';

/**
 * The `Llm` port over an OpenAI-compatible chat completions endpoint (`openai` package, `baseURL`
 * with its `/v1`): Ollama, vLLM, a LiteLLM proxy, any gateway. The factory's turn shape is the
 * Anthropic Messages shape; this adapter translates both ways:
 *
 * - request: the system prompt becomes a `system` message; `tool_use` blocks become the assistant's
 *   `tool_calls` (arguments as JSON text); `tool_result` blocks become `tool` messages, before any
 *   text of the same user turn (for a model whose server refuses a `user` message right after a
 *   `tool` one, as Mistral's validator does, that text ends the last tool message instead); thinking
 *   and images are dropped (not every server has them);
 * - answer: text becomes a text block and each tool call (parallel calls included) a `tool_use`
 *   block; arguments that are not a JSON object become the input `{ invalid_json_arguments: raw }`,
 *   which every tool's schema refuses, so the tool is not run and the model is told to call again;
 *   finish reasons map `stop`→`end_turn`, `tool_calls`→`tool_use`, `length`→`max_tokens` (a tool
 *   call cut by the limit is kept, last, with an empty input, as the Messages API returns one cut
 *   mid-input: the stage runner refuses that call as cut and runs the whole calls before it),
 *   `content_filter`→`refusal`; a call without an id (llama.cpp, LM Studio, some gateways) or
 *   with one already used in the answer gets an id of its own, so its result can answer it, and a
 *   call without `type` (Mistral, some vLLM and Ollama builds) is taken as a function call;
 * - usage: `prompt_tokens` less `prompt_tokens_details.cached_tokens` is input, the cached part
 *   a cache read (servers cache automatically; there is nothing to mark); an answer without usage
 *   is charged an estimate that errs high (about 3 characters a token), never nothing;
 * - errors: classified like the Anthropic adapter's (429 → rate_limited with `retry-after` or
 *   `x-ratelimit-reset-requests`; 503 and 529 → overloaded, so the worker falls back; other 5xx →
 *   server; no answer → network; a context-length 400 → prompt_too_long; `insufficient_quota` or
 *   402 → spend_limit; other 4xx → permanent). The SDK never retries; the adapter asks again, once
 *   each, only to correct the request: `max_completion_tokens` for a model that refuses
 *   `max_tokens`, and a smaller `max_tokens` when the window the 400 reports holds the prompt but not
 *   the output budget (`fittingMaxTokens`).
 */

export interface OpenAiCompatibleLlmOptions {
  /** With its `/v1`, as the openai SDK expects. */
  baseURL: string;
  /** Some servers (a local Ollama) need none; the SDK still wants a value. */
  apiKey?: string;
  timeoutMs?: number;
  client?: OpenAI;
}

type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;
type Block = Record<string, unknown>;

const MAX_RAW_ARGUMENTS_CHARS = 2000;
const CONTEXT_TOO_LONG =
  /context length|context window|maximum context|too many tokens|prompt is too long|context size/i;
/** Output tokens kept free under a window a server reported, and the least worth asking for. */
const WINDOW_MARGIN_TOKENS = 64;
const MIN_FITTING_OUTPUT_TOKENS = 1024;
const SPEND_LIMIT = /insufficient_quota|exceeded your current quota|billing|credit/i;

const blocksOf = (content: unknown): Block[] =>
  typeof content === 'string'
    ? [{ type: 'text', text: content }]
    : (Array.isArray(content) ? content : [content]).filter(
        (b): b is Block => typeof b === 'object' && b !== null,
      );

const textOfResult = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: Block) => (typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text.length > 0)
    .join('\n');
};

/** The Anthropic-shaped conversation as chat completion messages. */
export function toChatMessages(
  request: LlmRequest,
  options: { textAfterToolsInTool?: boolean } = {},
): ChatMessage[] {
  const out: ChatMessage[] = request.system ? [{ role: 'system', content: request.system }] : [];
  for (const message of request.messages) {
    const blocks = blocksOf(message.content);
    const text = blocks
      .filter((b) => b.type === 'text' && typeof b.text === 'string' && b.text.length > 0)
      .map((b) => String(b.text))
      .join('\n\n');
    if (message.role === 'assistant') {
      const calls = blocks
        .filter((b) => b.type === 'tool_use')
        .map((b) => ({
          id: String(b.id),
          type: 'function' as const,
          function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) },
        }));
      out.push({
        role: 'assistant',
        content: text.length > 0 ? text : null,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      });
      continue;
    }
    const results = blocks.filter((b) => b.type === 'tool_result');
    results.forEach((result, index) => {
      const body = textOfResult(result.content);
      const marked = result.is_error === true && !body.startsWith('Error') ? `Error: ${body}` : body;
      // For a server that refuses a user message right after a tool message, the text after the
      // tool results (the turns left, a reminder) ends the last tool message instead.
      const fold = options.textAfterToolsInTool === true && index === results.length - 1 && text.length > 0;
      out.push({
        role: 'tool',
        tool_call_id: String(result.tool_use_id),
        content: fold ? `${marked}\n\n${text}` : marked,
      });
    });
    if (text.length > 0 && !(options.textAfterToolsInTool === true && results.length > 0))
      out.push({ role: 'user', content: text });
  }
  return out;
}

/**
 * Models that refused `max_tokens` (OpenAI's reasoning models: o-series, gpt-5: "Unsupported
 * parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
 * get `max_completion_tokens` from then on. Not every server knows `max_completion_tokens` (Ollama
 * lists only `max_tokens`), so `max_tokens` stays the first choice.
 */
const REFUSE_MAX_TOKENS = new Set<string>();

/**
 * Models whose server refused a user message right after a tool message: mistral_common's
 * validator (vLLM serving Mistral or Devstral, the Mistral API) answers 400 "Unexpected role 'user'
 * after role 'tool'". Their requests carry the text after tool results in the last tool message.
 */
const REFUSE_USER_AFTER_TOOL = new Set<string>();

function refusesUserAfterTool(error: unknown): boolean {
  return (
    error instanceof APIError &&
    error.status === 400 &&
    /unexpected role .?user.? after role .?tool/i.test(error.message)
  );
}

function refusesMaxTokens(error: unknown): boolean {
  return (
    error instanceof APIError &&
    error.status === 400 &&
    (error.param === 'max_tokens' || /max_completion_tokens/.test(error.message))
  );
}

/**
 * The output budget that fits when a server refused the call for its context window but the
 * prompt itself fits: vLLM (and OpenAI) count `max_tokens` against the window and answer 400
 * "This model's maximum context length is 32768 tokens. However, you requested 35684 tokens (3684
 * in the messages, 32000 in the completion)" (newer vLLM: "… you requested 32000 output tokens and
 * your prompt contains at least 3684 input tokens"); llama.cpp sends `n_ctx` and `n_prompt_tokens`.
 * Clearing older context cannot help then; a smaller `max_tokens` does.
 */
export function fittingMaxTokens(error: unknown, asked: number): number | undefined {
  if (!(error instanceof APIError) || ![400, 413, 500].includes(error.status ?? 0)) return undefined;
  const body = (typeof error.error === 'object' && error.error !== null ? error.error : {}) as Record<
    string,
    unknown
  >;
  const text = error.message;
  const window = Number(text.match(/maximum context length is (\d+)/i)?.[1] ?? body.n_ctx);
  const prompt = Number(
    text
      .match(/(\d+) in the messages|(\d+) input tokens/i)
      ?.slice(1)
      .find((n) => n !== undefined) ?? body.n_prompt_tokens,
  );
  if (!Number.isInteger(window) || !Number.isInteger(prompt)) return undefined;
  const room = window - prompt - WINDOW_MARGIN_TOKENS;
  return room >= MIN_FITTING_OUTPUT_TOKENS && room < asked ? room : undefined;
}

function requestParams(request: LlmRequest, model: string) {
  return {
    model,
    messages: toChatMessages(request, { textAfterToolsInTool: REFUSE_USER_AFTER_TOOL.has(model) }),
    ...(REFUSE_MAX_TOKENS.has(model)
      ? { max_completion_tokens: request.maxTokens }
      : { max_tokens: request.maxTokens }),
    ...(request.tools.length > 0
      ? {
          tools: request.tools.map((t) => ({
            type: 'function' as const,
            function: { name: t.name, description: t.description, parameters: t.input_schema },
          })),
        }
      : {}),
  };
}

function parseArguments(raw: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw === '' ? '{}' : raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  length: 'max_tokens',
  content_filter: 'refusal',
};

/** One completion as the factory's turn: content blocks, stop reason and usage. */
export function fromCompletion(
  completion: ChatCompletion,
  request: LlmRequest,
): Pick<LlmResponse, 'content' | 'stopReason' | 'usage'> {
  const choice = completion.choices?.[0];
  if (!choice) throw new LlmError('server', 'model call failed: the answer has no choices');
  const cut = choice.finish_reason === 'length';
  const content: unknown[] = [];
  const text = typeof choice.message?.content === 'string' ? choice.message.content : '';
  if (text.length > 0) content.push({ type: 'text', text });
  const calls = (choice.message?.tool_calls ?? []) as Array<
    Partial<OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall>
  >;
  const ids = new Set<string>();
  calls.forEach((call, index) => {
    // `type` is required by the API reference but some servers leave it out: a function is a function.
    if ((call.type !== undefined && call.type !== null && call.type !== 'function') || !call.function) return;
    const raw = typeof call.function.arguments === 'string' ? call.function.arguments : '';
    const input = parseArguments(raw);
    const given = typeof call.id === 'string' ? call.id : '';
    const id = given && !ids.has(given) ? given : `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
    ids.add(id);
    const last = index === calls.length - 1;
    content.push({
      type: 'tool_use',
      id,
      name: String(call.function.name ?? ''),
      // Cut mid-call by the token limit (only the last call can be): the stage runner refuses it.
      input: input ?? (cut && last ? {} : { invalid_json_arguments: raw.slice(0, MAX_RAW_ARGUMENTS_CHARS) }),
    });
  });
  const hasCalls = content.some((b) => (b as Block).type === 'tool_use');
  const mapped = STOP_REASONS[choice.finish_reason ?? ''] ?? 'end_turn';
  // Some servers say `stop` while returning tool calls: what was returned decides.
  const stopReason =
    hasCalls && mapped === 'end_turn' ? 'tool_use' : !hasCalls && mapped === 'tool_use' ? 'end_turn' : mapped;
  return { content, stopReason, usage: usageOf(completion, request, content) };
}

function usageOf(completion: ChatCompletion, request: LlmRequest, content: unknown[]): LlmUsage {
  const usage = completion.usage;
  const whole = (n: unknown) =>
    typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
  const prompt = whole(usage?.prompt_tokens);
  const completionTokens = whole(usage?.completion_tokens);
  const cached = Math.min(whole(usage?.prompt_tokens_details?.cached_tokens) ?? 0, prompt ?? 0);
  return {
    inputTokens: prompt !== undefined ? prompt - cached : estimateInputTokens(request),
    outputTokens: completionTokens ?? Math.ceil(JSON.stringify(content).length / 3),
    cacheReadTokens: cached,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
  };
}

/** `1s`, `6m0s`, `20ms`, `1h2m3.5s` (OpenAI's reset durations) in milliseconds. */
export function durationMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value.trim()) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] ?? 's'] ?? 0), 0);
}

/** The requests window from `x-ratelimit-remaining-requests` / `-reset-requests` / `-limit-requests`. */
export function openAiRateLimitOf(headers: unknown, now = Date.now()): LlmRateLimit | undefined {
  const remainingHeader = headerOf(headers, 'x-ratelimit-remaining-requests');
  const remaining = Number(remainingHeader);
  const reset = durationMs(headerOf(headers, 'x-ratelimit-reset-requests'));
  if (!remainingHeader || !Number.isFinite(remaining) || remaining < 0 || reset === undefined)
    return undefined;
  const limit = Number(headerOf(headers, 'x-ratelimit-limit-requests'));
  return { remaining, resetAt: now + reset, ...(Number.isFinite(limit) && limit > 0 ? { limit } : {}) };
}

function retryAfterOf(headers: unknown, now: number): number | undefined {
  const fromRetryAfter = retryAfterSeconds(headers, now);
  if (fromRetryAfter !== undefined) return fromRetryAfter;
  const reset = durationMs(headerOf(headers, 'x-ratelimit-reset-requests'));
  return reset === undefined ? undefined : Math.ceil(reset / 1000);
}

/** Maps any failure of a chat completion call to an LlmError (rules at the top of this file). */
export function classifyOpenAiError(error: unknown, now = Date.now()): LlmError {
  if (error instanceof LlmError) return error;
  const wrap = (kind: LlmErrorKind, message: string, retryAfter?: number) => {
    const rateLimit = error instanceof APIError ? openAiRateLimitOf(error.headers, now) : undefined;
    return new LlmError(kind, message, retryAfter, { cause: error, ...(rateLimit ? { rateLimit } : {}) });
  };
  if (error instanceof APIUserAbortError || error instanceof APIConnectionError)
    return wrap('network', `model call failed to connect or timed out: ${error.message}`);
  if (error instanceof APIError) {
    const status = error.status;
    const label = `model call failed: ${status ?? 'no status'} ${error.code ?? error.type ?? 'error'}: ${error.message}`;
    if (
      status === 402 ||
      error.code === 'insufficient_quota' ||
      (status === 429 && SPEND_LIMIT.test(error.message))
    )
      return wrap('spend_limit', label);
    if (status === 429)
      return wrap('rate_limited', label, retryAfterOf(error.headers, now) ?? DEFAULT_RETRY_AFTER_SECONDS);
    if (status === 503 || status === 529)
      return wrap('overloaded', label, retryAfterSeconds(error.headers, now));
    const contextTooLong =
      CONTEXT_TOO_LONG.test(error.message) ||
      error.code === 'context_length_exceeded' ||
      error.type === 'exceed_context_size_error';
    // llama.cpp answers a prompt over its context with a 400 or, in some paths, a 500 ("Context size
    // has been exceeded."): retrying the same prompt cannot help, clearing older context can.
    if ((status === 400 || status === 413 || status === 500) && contextTooLong)
      return wrap('prompt_too_long', label);
    if (status === undefined || status >= 500 || status === 408 || status === 409)
      return wrap('server', label, retryAfterSeconds(error.headers, now));
    return wrap('permanent', label);
  }
  const message = error instanceof Error ? error.message : String(error);
  return wrap('permanent', `model call failed unexpectedly: ${message}`);
}

export class OpenAiCompatibleLlm implements Llm {
  private readonly client: OpenAI;
  private readonly timeoutMs: number;

  constructor(options: OpenAiCompatibleLlmOptions) {
    this.timeoutMs = options.timeoutMs ?? 10 * 60_000;
    this.client =
      options.client ??
      new OpenAI({
        baseURL: options.baseURL,
        // The SDK refuses to start without a key; a server that needs none ignores this one.
        apiKey: options.apiKey ?? 'no-key',
        maxRetries: 0,
      });
  }

  /** `request.model` is the endpoint's own model id (the router strips the provider prefix). */
  async createMessage(request: LlmRequest): Promise<LlmResponse> {
    let completion: ChatCompletion;
    let headers: Headers | undefined;
    let asked = request;
    const call = () =>
      this.client.chat.completions
        .create({ ...requestParams(asked, asked.model), stream: false }, { timeout: this.timeoutMs })
        .withResponse();
    try {
      let answer: Awaited<ReturnType<typeof call>> | undefined;
      // At most three corrections, each made once: max_completion_tokens, no user message after a
      // tool message, a budget that fits.
      for (let attempt = 0; answer === undefined; attempt += 1) {
        try {
          answer = await call();
        } catch (error) {
          const fitting = fittingMaxTokens(error, asked.maxTokens);
          if (attempt < 3 && !REFUSE_MAX_TOKENS.has(asked.model) && refusesMaxTokens(error))
            REFUSE_MAX_TOKENS.add(asked.model);
          else if (attempt < 3 && !REFUSE_USER_AFTER_TOOL.has(asked.model) && refusesUserAfterTool(error))
            REFUSE_USER_AFTER_TOOL.add(asked.model);
          else if (attempt < 3 && fitting !== undefined) asked = { ...asked, maxTokens: fitting };
          else throw error;
        }
      }
      completion = answer.data;
      headers = answer.response.headers;
    } catch (error) {
      throw classifyOpenAiError(error);
    }
    const rateLimit = openAiRateLimitOf(headers);
    return {
      model: request.model,
      ...fromCompletion(completion, request),
      ...(rateLimit ? { rateLimit } : {}),
    };
  }

  /** Chat completions has no token counting: the conservative estimate sizes the reservation. */
  async countTokens(request: LlmRequest): Promise<number> {
    return estimateInputTokens(request);
  }
}
