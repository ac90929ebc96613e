import { randomBytes } from 'node:crypto';
import { ApiError } from './api-error';
import type { ContentBlockParam, MessageParam, MessageResponse, MessagesRequest, StopReason } from './api';

/**
 * The other wire formats the stand-in speaks, translated to and from the Messages shape its
 * scripts answer in:
 * - Amazon Bedrock's runtime InvokeModel for Anthropic models (`POST /model/{modelId}/invoke`):
 *   the Messages body without `model` and `stream`, with `anthropic_version: bedrock-2023-05-31`;
 *   the same answer body; errors as `{ "message" }` with the `x-amzn-ErrorType` header
 *   (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html);
 * - OpenAI chat completions (`POST /v1/chat/completions`) with function tools, as Ollama, vLLM
 *   and LiteLLM serve it; errors as `{ "error": { message, type, param, code } }`.
 */

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Bedrock
// ---------------------------------------------------------------------------------------------

export const BEDROCK_INVOKE_PATH = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream)$/;
const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';
/** Anthropic model ids, inference profile ids (`us.anthropic.…`) and their ARNs. */
const BEDROCK_MODEL_ID =
  /^(?:arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+:\d{0,12}:(?:foundation-model|inference-profile)\/)?(?:(?:us|eu|apac|jp|au|ca|global)\.)?anthropic\.claude-[a-z0-9.-]+(?::\d+)?$/;

const validation = (message: string) => new ApiError(400, 'invalid_request_error', message);

/** The Messages request an InvokeModel call carries, or the ValidationException Bedrock answers. */
export function bedrockRequest(body: unknown, modelId: string): MessagesRequest {
  if (!BEDROCK_MODEL_ID.test(modelId)) throw validation('The provided model identifier is invalid.');
  if (!isObject(body)) throw validation('Malformed input request, please reformat your input and try again.');
  for (const key of ['model', 'stream'])
    if (key in body)
      throw validation(
        `Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`,
      );
  if (body.anthropic_version !== BEDROCK_ANTHROPIC_VERSION)
    throw validation(
      `Malformed input request: #/anthropic_version: expected ${BEDROCK_ANTHROPIC_VERSION}, please reformat your input and try again.`,
    );
  const { anthropic_version: _version, ...rest } = body;
  return { ...rest, model: modelId } as MessagesRequest;
}

const BEDROCK_EXCEPTIONS: Record<string, [number, string]> = {
  rate_limit_error: [429, 'ThrottlingException'],
  overloaded_error: [503, 'ServiceUnavailableException'],
  api_error: [500, 'InternalServerException'],
  invalid_request_error: [400, 'ValidationException'],
  authentication_error: [403, 'UnrecognizedClientException'],
  signature_error: [403, 'InvalidSignatureException'],
  not_found_error: [404, 'ResourceNotFoundException'],
  request_too_large: [413, 'ValidationException'],
};

/** An error as Bedrock sends it: its own status, exception name header and `{ message }` body. */
export function bedrockError(error: ApiError): {
  status: number;
  headers: Record<string, string>;
  body: unknown;
} {
  const [status, name] = BEDROCK_EXCEPTIONS[error.type] ?? [500, 'InternalServerException'];
  const message =
    name === 'ThrottlingException' ? 'Too many requests, please wait before trying again.' : error.message;
  // Bedrock sends no retry-after on throttling: the caller must choose its own wait.
  return {
    status,
    headers: { 'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
    body: { message },
  };
}

// ---------------------------------------------------------------------------------------------
// OpenAI chat completions
// ---------------------------------------------------------------------------------------------

const DEFAULT_CHAT_MAX_TOKENS = 4096;

const chatInvalid = (message: string, param: string | null = null) =>
  new ApiError(400, 'invalid_request_error', message, {}, param ? { param } : undefined);

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
  return '';
};

/** The Messages request a chat completion request means, refusing what OpenAI refuses. */
export function chatRequest(body: unknown): MessagesRequest {
  if (!isObject(body)) throw chatInvalid('We could not parse the JSON body of your request.');
  if (typeof body.model !== 'string' || body.model.length === 0)
    throw chatInvalid('you must provide a model parameter', 'model');
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    throw chatInvalid("[] is too short - 'messages'", 'messages');
  if (body.stream === true) throw chatInvalid('stream is not supported by this stand-in', 'stream');
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_CHAT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)
    throw chatInvalid('max_tokens must be a positive integer', 'max_tokens');

  const tools = body.tools === undefined ? [] : body.tools;
  if (!Array.isArray(tools)) throw chatInvalid("'tools' must be an array", 'tools');
  const toolDefs = tools.map((tool, i) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn))
      throw chatInvalid(`Invalid value for 'tools[${i}].type': expected 'function'.`, `tools[${i}].type`);
    if (typeof fn.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(fn.name))
      throw chatInvalid(
        `Invalid 'tools[${i}].function.name': string does not match pattern.`,
        `tools[${i}].function.name`,
      );
    if (fn.parameters !== undefined && !isObject(fn.parameters))
      throw chatInvalid(
        `Invalid 'tools[${i}].function.parameters': expected an object.`,
        `tools[${i}].function.parameters`,
      );
    return {
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      input_schema: (fn.parameters as Record<string, unknown> | undefined) ?? {
        type: 'object',
        properties: {},
      },
    };
  });

  const system: string[] = [];
  const messages: MessageParam[] = [];
  let pendingCalls: string[] = [];
  const userBlocks = (): ContentBlockParam[] => {
    const last = messages.at(-1);
    if (last?.role === 'user' && Array.isArray(last.content)) return last.content;
    const blocks: ContentBlockParam[] = [];
    messages.push({ role: 'user', content: blocks });
    return blocks;
  };
  body.messages.forEach((message, i) => {
    if (!isObject(message)) throw chatInvalid(`Invalid type for 'messages[${i}]': expected an object.`);
    if (pendingCalls.length > 0 && message.role !== 'tool')
      throw chatInvalid(
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${pendingCalls.join(', ')}`,
        `messages.[${i}].role`,
      );
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOf(message.content));
        return;
      case 'user': {
        const text = textOf(message.content);
        if (text.length > 0) userBlocks().push({ type: 'text', text });
        return;
      }
      case 'assistant': {
        const blocks: ContentBlockParam[] = [];
        const text = textOf(message.content);
        if (text.length > 0) blocks.push({ type: 'text', text });
        const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
        for (const call of calls) {
          const fn = isObject(call) ? call.function : undefined;
          if (!isObject(call) || typeof call.id !== 'string' || !isObject(fn) || typeof fn.name !== 'string')
            throw chatInvalid(`Invalid 'messages[${i}].tool_calls': each needs an id and a function name.`);
          let input: unknown;
          try {
            input = JSON.parse(String(fn.arguments ?? '{}'));
          } catch {
            input = {};
          }
          blocks.push({ type: 'tool_use', id: call.id, name: fn.name, input: isObject(input) ? input : {} });
          pendingCalls.push(call.id);
        }
        if (blocks.length === 0) blocks.push({ type: 'text', text: '(empty)' });
        messages.push({ role: 'assistant', content: blocks });
        return;
      }
      case 'tool': {
        const id = String(message.tool_call_id ?? '');
        if (!pendingCalls.includes(id))
          throw chatInvalid(
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
            `messages.[${i}].role`,
          );
        pendingCalls = pendingCalls.filter((p) => p !== id);
        // Chat completions have no is_error: the adapter marks a failed tool's result with a leading
        // "Error", which is how a model (and so the scripts) tells a refused call from a run one.
        const content = textOf(message.content);
        userBlocks().push({
          type: 'tool_result',
          tool_use_id: id,
          content,
          ...(/^Error\b/.test(content) ? { is_error: true } : {}),
        });
        return;
      }
      default:
        throw chatInvalid(
          `Invalid value: '${String(message.role)}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'developer'.`,
          `messages[${i}].role`,
        );
    }
  });
  if (pendingCalls.length > 0)
    throw chatInvalid(
      `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${pendingCalls.join(', ')}`,
    );
  return {
    model: body.model,
    max_tokens: maxTokens as number,
    messages,
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    ...(toolDefs.length > 0 ? { tools: toolDefs } : {}),
  };
}

const FINISH_REASONS: Record<StopReason, string> = {
  end_turn: 'stop',
  tool_use: 'tool_calls',
  max_tokens: 'length',
  pause_turn: 'stop',
  refusal: 'content_filter',
};

/** A Messages answer as a chat completion (tool calls with JSON-text arguments). */
export function chatResponse(message: MessageResponse, created: number): Record<string, unknown> {
  const text = message.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
  const calls = message.content.flatMap((b) =>
    b.type === 'tool_use'
      ? [
          {
            id: `call_${randomBytes(12).toString('hex')}`,
            type: 'function',
            function: { name: b.name, arguments: JSON.stringify(b.input) },
          },
        ]
      : [],
  );
  const prompt =
    message.usage.input_tokens +
    message.usage.cache_read_input_tokens +
    message.usage.cache_creation_input_tokens;
  return {
    id: `chatcmpl-${randomBytes(12).toString('hex')}`,
    object: 'chat.completion',
    created: Math.floor(created / 1000),
    model: message.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text.length > 0 ? text : null,
          refusal: null,
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
        },
        logprobs: null,
        finish_reason: FINISH_REASONS[message.stop_reason] ?? 'stop',
      },
    ],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: message.usage.output_tokens,
      total_tokens: prompt + message.usage.output_tokens,
      prompt_tokens_details: { cached_tokens: message.usage.cache_read_input_tokens },
    },
  };
}

/** An error as OpenAI sends it. A 529 has no OpenAI equivalent: it becomes a 503. */
export function chatError(error: ApiError): {
  status: number;
  headers: Record<string, string>;
  body: unknown;
} {
  const status = error.status === 529 ? 503 : error.status;
  const type =
    error.type === 'rate_limit_error'
      ? 'requests'
      : error.type === 'authentication_error'
        ? 'invalid_request_error'
        : status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  const code =
    error.type === 'rate_limit_error'
      ? 'rate_limit_exceeded'
      : error.type === 'authentication_error'
        ? 'invalid_api_key'
        : null;
  const headers = { ...error.headers };
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined) headers['x-ratelimit-reset-requests'] = `${retryAfter}s`;
  const param = typeof error.details?.param === 'string' ? error.details.param : null;
  return { status, headers, body: { error: { message: error.message, type, param, code } } };
}
