import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MessageResponse, MessagesRequest, ResponseBlock, StopReason, Usage } from './api';
import { maxOutputTokensOf } from '../../functions/shared/domain/models';
import { ApiError } from './api-error';
import { type Fault, FaultQueue, type ModelApi, RollingRateLimiter } from './faults';
import {
  buildContext,
  conversationKey,
  type ResponseSpec,
  type Script,
  sampleScript,
  stageOf,
} from './scripts';
import { verifySigV4 } from './sigv4';
import {
  checkThinkingBlocks,
  ThinkingSigner,
  thinkingBlock,
  thinkingBudgetOf,
  thoughtsBefore,
} from './thinking';
import { countInputTokens, outputTokensOf, PromptCache } from './usage';
import {
  BEDROCK_INVOKE_PATH,
  bedrockError,
  bedrockRequest,
  chatError,
  chatRequest,
  chatResponse,
} from './wire';

/**
 * A local stand-in for the Anthropic Messages API, enough for `@anthropic-ai/sdk` pointed at it
 * through `baseURL`: `POST /v1/messages` (JSON, or SSE with the real event sequence when
 * `stream: true`) and `POST /v1/messages/count_tokens`. It also speaks Bedrock's runtime
 * InvokeModel (`POST /model/{modelId}/invoke`, SigV4-verified) and OpenAI chat completions
 * (`POST /v1/chat/completions` with function tools): see wire.ts. Answers come from a script (see
 * scripts.ts); usage is deterministic and prompt caching is emulated (usage.ts); faults and a
 * request-rate limit are programmable (faults.ts). Binds 127.0.0.1 only.
 */

export interface ModelServerOptions {
  /** 0 (default) lets the OS choose. */
  port?: number;
  script?: Script;
  /** At most this many `POST /v1/messages` per rolling minute; extra requests get 429. */
  rateLimitPerMinute?: number;
  /** retry-after of queued `429` faults that do not set their own (default 1 s). */
  retryAfterSeconds?: number;
  /** Prefixes shorter than this are not cached (default 0; the real API needs 1024+). */
  minCacheableTokens?: number;
  /** Added before each model answer, to emulate generation time in benchmarks (default 0). */
  latencyMs?: number;
  now?: () => number;
  /** Bedrock calls must be SigV4-signed with these (the embedded stack's fake credentials). */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface RecordedCall {
  seq: number;
  at: number;
  /** The wire format of the call: Anthropic Messages, Bedrock InvokeModel or OpenAI chat completions. */
  api: ModelApi;
  /** Bedrock calls: the SigV4 signature was verified. */
  signed?: boolean;
  path: string;
  requestId: string;
  status: number;
  model?: string;
  stream: boolean;
  stage?: string;
  attempt?: number;
  /** Names of the tools offered. */
  tools: string[];
  /** Names of the tools the answer called. */
  toolCalls: string[];
  stopReason?: StopReason;
  usage?: Usage;
  /** The request's extended thinking budget, when it enabled thinking. */
  thinkingBudget?: number;
  /** The injected fault, or `rate-limit` when the limiter refused the call. */
  fault?: Fault['kind'] | 'rate-limit';
  errorType?: string;
}

export interface ModelServer {
  url: string;
  close(): Promise<void>;
  faults: FaultQueue;
  calls(): RecordedCall[];
  setScript(script: Script): void;
  /** Forgets calls, faults, the prompt cache, conversation attempts and the rate window; keeps the script. */
  reset(): void;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const MAX_RECORDED_CALLS = 10_000;
const MAX_CONVERSATIONS_PER_STAGE = 10_000;
const STREAM_CHUNK_CHARS = 48;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const randomId = (prefix: string, length = 24): string =>
  prefix + [...randomBytes(length)].map((byte) => BASE62[byte % 62]).join('');

// ---------------------------------------------------------------------------------------------
// Request validation: the checks the real API makes that a client bug would trip
// ---------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const invalid = (message: string) => new ApiError(400, 'invalid_request_error', message);

export function validateRequest(body: unknown, { countTokens = false } = {}): MessagesRequest {
  if (!isObject(body)) throw invalid('request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model.length === 0) throw invalid('model: Field required');
  if (!countTokens) {
    if (body.max_tokens === undefined) throw invalid('max_tokens: Field required');
    if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) {
      throw invalid('max_tokens: Input should be an integer greater than or equal to 1');
    }
    // The API refuses more output than the model can give, in these words.
    const ceiling = maxOutputTokensOf(body.model);
    if (ceiling !== undefined && (body.max_tokens as number) > ceiling) {
      throw invalid(
        `max_tokens: ${body.max_tokens} > ${ceiling}, which is the maximum allowed number of output tokens for ${body.model}`,
      );
    }
  }
  if (!Array.isArray(body.messages)) throw invalid('messages: Field required');
  if (body.messages.length === 0) throw invalid('messages: at least one message is required');

  let cacheControls = 0;
  const countControl = (block: unknown) => {
    if (isObject(block) && block.cache_control !== undefined) {
      if (!isObject(block.cache_control) || block.cache_control.type !== 'ephemeral') {
        throw invalid('cache_control: Input tag does not match the expected tag "ephemeral"');
      }
      cacheControls += 1;
    }
    // Blocks inside a tool result count too.
    if (isObject(block) && block.type === 'tool_result' && Array.isArray(block.content))
      block.content.forEach(countControl);
  };
  // Automatic caching (a top-level cache_control) takes one of the 4 slots.
  countControl({ cache_control: body.cache_control });

  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) throw invalid('tools: Input should be a valid list');
    const names = new Set<string>();
    body.tools.forEach((tool, i) => {
      if (!isObject(tool) || typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(tool.name)) {
        throw invalid(`tools.${i}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
      }
      if (!isObject(tool.input_schema) || tool.input_schema.type !== 'object') {
        throw invalid(`tools.${i}.input_schema: input_schema must be a JSON schema of type "object"`);
      }
      if (names.has(tool.name)) throw invalid('tools: Tool names must be unique.');
      names.add(tool.name);
      countControl(tool);
    });
  }

  if (body.system !== undefined && typeof body.system !== 'string') {
    if (!Array.isArray(body.system)) throw invalid('system: Input should be a valid string or list');
    body.system.forEach((block, i) => {
      if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') {
        throw invalid(`system.${i}: Input should be a text block`);
      }
      if (block.text.length === 0) throw invalid(`system.${i}.text: text content blocks must be non-empty`);
      countControl(block);
    });
  }

  let previousToolUses: string[] = [];
  body.messages.forEach((message, i) => {
    if (!isObject(message)) throw invalid(`messages.${i}: Input should be an object`);
    if (message.role !== 'user' && message.role !== 'assistant') {
      throw invalid(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    }
    if (i === 0 && message.role !== 'user') throw invalid('messages: first message must use the "user" role');
    const previous = (body.messages as Array<Record<string, unknown>>)[i - 1];
    if (previous && previous.role === message.role) {
      throw invalid(
        `messages: roles must alternate between "user" and "assistant", but found multiple "${message.role}" roles in a row`,
      );
    }
    if (typeof message.content === 'string') {
      if (message.content.length === 0 && i < (body.messages as unknown[]).length - 1) {
        throw invalid(`messages.${i}: all messages must have non-empty content`);
      }
    } else if (!Array.isArray(message.content) || message.content.length === 0) {
      throw invalid(`messages.${i}.content: Input should be a non-empty string or list of content blocks`);
    }
    const blocks = typeof message.content === 'string' ? [] : (message.content as unknown[]);
    const toolUses: string[] = [];
    const answered = new Set<string>();
    blocks.forEach((block, j) => {
      const at = `messages.${i}.content.${j}`;
      if (!isObject(block) || typeof block.type !== 'string')
        throw invalid(`${at}: Input should be a content block`);
      countControl(block);
      if (block.type === 'text' && (typeof block.text !== 'string' || block.text.length === 0)) {
        throw invalid(`${at}.text: text content blocks must be non-empty`);
      }
      if (block.type === 'tool_use') {
        if (message.role !== 'assistant')
          throw invalid(`${at}: tool_use blocks are only allowed in assistant messages`);
        if (typeof block.id !== 'string' || typeof block.name !== 'string' || !isObject(block.input)) {
          throw invalid(`${at}: tool_use blocks need a string id, a string name and an object input`);
        }
        toolUses.push(block.id);
      }
      if (block.type === 'tool_result') {
        if (message.role !== 'user')
          throw invalid(`${at}: tool_result blocks are only allowed in user messages`);
        const id = String(block.tool_use_id);
        if (!previousToolUses.includes(id)) {
          throw invalid(
            `${at}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
          );
        }
        answered.add(id);
      }
    });
    if (message.role === 'user') {
      const missing = previousToolUses.filter((id) => !answered.has(id));
      if (missing.length > 0) {
        throw invalid(
          `messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
    }
    previousToolUses = message.role === 'assistant' ? toolUses : [];
  });
  if (cacheControls > 4) {
    throw invalid(`A maximum of 4 blocks with cache_control may be provided. Found ${cacheControls}.`);
  }
  return body as unknown as MessagesRequest;
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/**
 * The part of a tool input written within `chars` characters of its JSON: whole values in order,
 * the first string that does not fit cut short, the rest missing.
 */
export function cutInput(input: Record<string, unknown>, chars: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let left = chars - 2;
  for (const [key, value] of Object.entries(input)) {
    const whole = JSON.stringify(value) ?? '';
    const overhead = JSON.stringify(key).length + 2;
    if (overhead + whole.length <= left) {
      out[key] = value;
      left -= overhead + whole.length;
      continue;
    }
    if (typeof value === 'string' && left > overhead + 2) out[key] = value.slice(0, left - overhead - 2);
    break;
  }
  return out;
}

/** Turns a script's spec into content within max_tokens (text and tool input cut where it ends). */
function materialise(
  spec: ResponseSpec,
  maxTokens: number,
  thinking?: { budgetTokens: number; signer: ThinkingSigner },
): { content: ResponseBlock[]; stopReason: StopReason } {
  const content: ResponseBlock[] = [];
  let budget = maxTokens;
  if (thinking) {
    const block = thinkingBlock(
      spec.thinking ?? thoughtsBefore(spec.content),
      thinking.budgetTokens,
      thinking.signer,
    );
    content.push(block);
    budget -= outputTokensOf([block]);
  }
  for (const block of spec.content) {
    const full: ResponseBlock =
      block.type === 'text'
        ? { type: 'text', text: block.text }
        : { type: 'tool_use', id: randomId('toolu_01', 22), name: block.name, input: block.input };
    const cost = outputTokensOf([full]);
    if (cost > budget) {
      // Cut where the budget ends, as the API does: text mid-sentence, a tool call mid-input
      // (what was written of it, as the SDK's partial JSON parse gives it).
      if (full.type === 'text' && budget > 0)
        content.push({ type: 'text', text: full.text.slice(0, budget * 4) });
      if (full.type === 'tool_use' && budget > 0)
        content.push({ ...full, input: cutInput(full.input, budget * 4 - full.name.length - 1) });
      return { content, stopReason: 'max_tokens' };
    }
    budget -= cost;
    content.push(full);
  }
  const stopReason =
    spec.stopReason ?? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
  return { content, stopReason };
}

const chunks = (text: string): string[] => {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += STREAM_CHUNK_CHARS) out.push(text.slice(i, i + STREAM_CHUNK_CHARS));
  return out;
};

/** The SSE event sequence the API sends for one message (what the SDK's MessageStream reads). */
export function streamEvents(message: MessageResponse): Array<{ event: string; data: unknown }> {
  const events: Array<{ event: string; data: unknown }> = [];
  const push = (event: string, data: Record<string, unknown>) =>
    events.push({ event, data: { type: event, ...data } });
  push('message_start', {
    message: {
      ...message,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...message.usage, output_tokens: 1 },
    },
  });
  message.content.forEach((block, index) => {
    if (block.type === 'thinking') {
      push('content_block_start', {
        index,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      });
      if (index === 0) events.push({ event: 'ping', data: { type: 'ping' } });
      for (const thinking of chunks(block.thinking))
        push('content_block_delta', { index, delta: { type: 'thinking_delta', thinking } });
      push('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
    } else if (block.type === 'text') {
      push('content_block_start', { index, content_block: { type: 'text', text: '' } });
      if (index === 0) events.push({ event: 'ping', data: { type: 'ping' } });
      for (const text of chunks(block.text))
        push('content_block_delta', { index, delta: { type: 'text_delta', text } });
    } else {
      push('content_block_start', {
        index,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      });
      if (index === 0) events.push({ event: 'ping', data: { type: 'ping' } });
      push('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      for (const partial of chunks(JSON.stringify(block.input))) {
        push('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: partial } });
      }
    }
    push('content_block_stop', { index });
  });
  push('message_delta', {
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: {
      output_tokens: message.usage.output_tokens,
      input_tokens: message.usage.input_tokens,
      cache_creation_input_tokens: message.usage.cache_creation_input_tokens,
      cache_read_input_tokens: message.usage.cache_read_input_tokens,
    },
  });
  push('message_stop', {});
  return events;
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.');
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

function sendError(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) return;
  res.writeHead(error.status, { 'content-type': 'application/json', ...error.headers });
  res.end(
    JSON.stringify({
      type: 'error',
      error: {
        type: error.type,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      },
    }),
  );
}

function faultError(fault: Fault, defaultRetryAfter: number): ApiError {
  switch (fault.kind) {
    case '429': {
      const seconds = fault.retryAfterSeconds ?? defaultRetryAfter;
      return new ApiError(
        429,
        'rate_limit_error',
        'This request would exceed the rate limit for your organization of requests per minute. Please reduce the prompt length or the maximum tokens requested, or try again later.',
        { 'retry-after': String(seconds) },
      );
    }
    case 'spend-limit':
      return new ApiError(
        429,
        'rate_limit_error',
        "This request would exceed your organization's monthly usage limit (spend limit). Your credit balance is too low to continue: go to Plans & Billing to raise the limit or purchase credits.",
        {},
        { error_code: 'enforced_spend_limit_reached' },
      );
    case '529':
      return new ApiError(529, 'overloaded_error', 'Overloaded');
    case '500':
      return new ApiError(500, 'api_error', 'Internal server error');
    case 'reset':
      throw new Error('reset is not an HTTP answer');
  }
}

export async function startModel(options: ModelServerOptions = {}): Promise<ModelServer> {
  const now = options.now ?? Date.now;
  const faults = new FaultQueue();
  const cache = new PromptCache(now, options.minCacheableTokens ?? 0);
  const limiter =
    options.rateLimitPerMinute === undefined
      ? undefined
      : new RollingRateLimiter(options.rateLimitPerMinute, now);
  const conversations = new Map<string, Map<string, number>>();
  const signer = new ThinkingSigner();
  let script = options.script ?? sampleScript;
  let recorded: RecordedCall[] = [];
  let seq = 0;

  const record = (call: Omit<RecordedCall, 'seq' | 'at'>) => {
    recorded.push({ seq: ++seq, at: now(), ...call });
    if (recorded.length > MAX_RECORDED_CALLS) recorded = recorded.slice(-MAX_RECORDED_CALLS);
  };

  const attemptOf = (request: MessagesRequest): number => {
    const { stage } = stageOf(request);
    // Bounded memory: a stand-in that has seen this many conversations of a stage starts over.
    if ((conversations.get(stage)?.size ?? 0) >= MAX_CONVERSATIONS_PER_STAGE) conversations.delete(stage);
    const seen = conversations.get(stage) ?? new Map<string, number>();
    conversations.set(stage, seen);
    const key = conversationKey(request);
    const known = seen.get(key);
    if (known !== undefined) return known;
    seen.set(key, seen.size + 1);
    return seen.size;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomId('req_011C', 20);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const bedrockPath = BEDROCK_INVOKE_PATH.exec(path);
    const api: ModelApi = bedrockPath ? 'bedrock' : path === '/v1/chat/completions' ? 'openai' : 'anthropic';
    res.setHeader(
      { anthropic: 'request-id', bedrock: 'x-amzn-requestid', openai: 'x-request-id' }[api],
      requestId,
    );
    const base: Omit<RecordedCall, 'seq' | 'at' | 'status'> = {
      api,
      path,
      requestId,
      stream: false,
      tools: [],
      toolCalls: [],
    };
    const wireError = (error: ApiError) =>
      api === 'bedrock' ? bedrockError(error) : api === 'openai' ? chatError(error) : undefined;
    const fail = (error: ApiError, extra: Partial<RecordedCall> = {}) => {
      const wire = wireError(error);
      record({ ...base, ...extra, status: wire?.status ?? error.status, errorType: error.type });
      if (!wire) return sendError(res, error);
      if (res.headersSent) return;
      res.writeHead(wire.status, { 'content-type': 'application/json', ...wire.headers });
      res.end(JSON.stringify(wire.body));
    };

    const known = api !== 'anthropic' || path === '/v1/messages' || path === '/v1/messages/count_tokens';
    if (req.method !== 'POST' || !known) {
      req.resume();
      return fail(new ApiError(404, 'not_found_error', `${req.method} ${path} not found`));
    }
    if (api === 'anthropic' && !req.headers['x-api-key'] && !req.headers.authorization) {
      req.resume();
      return fail(new ApiError(401, 'authentication_error', 'x-api-key header is required'));
    }
    if (api === 'openai' && !/^Bearer \S+$/.test(String(req.headers.authorization ?? ''))) {
      req.resume();
      return fail(
        new ApiError(
          401,
          'authentication_error',
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.",
        ),
      );
    }
    let body: unknown;
    let text: string;
    try {
      text = await readBody(req);
    } catch (error) {
      if (error instanceof ApiError) return fail(error);
      throw error;
    }
    if (api === 'bedrock') {
      // Verify before parse: only a request signed with the stack's credentials is read.
      const problem = options.awsCredentials
        ? verifySigV4(
            {
              method: req.method ?? 'POST',
              rawPath: path,
              query: url.searchParams,
              headers: req.headers,
              body: text,
            },
            options.awsCredentials,
            'bedrock',
          )
        : 'this stand-in has no AWS credentials to verify signatures with';
      if (problem)
        return fail(
          new ApiError(
            403,
            problem.includes('signature') ? 'signature_error' : 'authentication_error',
            problem,
          ),
        );
      base.signed = true;
    }
    try {
      body = JSON.parse(text);
    } catch {
      return fail(invalid('The request body is not valid JSON.'));
    }

    if (path === '/v1/messages/count_tokens') {
      try {
        const request = validateRequest(body, { countTokens: true });
        const inputTokens = countInputTokens(request);
        record({
          ...base,
          status: 200,
          model: request.model,
          tools: (request.tools ?? []).map((t) => t.name),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ input_tokens: inputTokens }));
      } catch (error) {
        if (error instanceof ApiError) return fail(error);
        throw error;
      }
      return;
    }

    const peek = isObject(body) ? body : {};
    const modelId = bedrockPath ? decodeURIComponent(bedrockPath[1] ?? '') : undefined;
    const info: Partial<RecordedCall> = {
      model: modelId ?? (typeof peek.model === 'string' ? peek.model : undefined),
      stream: peek.stream === true || bedrockPath?.[2] === 'invoke-with-response-stream',
    };
    if (bedrockPath?.[2] === 'invoke-with-response-stream')
      return fail(invalid('this stand-in answers InvokeModel only, not its response stream'), info);

    if (limiter) {
      const slot = limiter.tryAcquire();
      const window = {
        'anthropic-ratelimit-requests-limit': String(limiter.limit),
        'anthropic-ratelimit-requests-remaining': String(slot.ok ? slot.remaining : 0),
        'anthropic-ratelimit-requests-reset': new Date(slot.resetAt).toISOString(),
      };
      if (!slot.ok) {
        return fail(
          new ApiError(
            429,
            'rate_limit_error',
            `This request would exceed the rate limit for your organization of ${limiter.limit} requests per minute. Please try again later.`,
            { ...(api === 'anthropic' ? window : {}), 'retry-after': String(slot.retryAfterSeconds) },
          ),
          { ...info, fault: 'rate-limit' },
        );
      }
      if (api === 'anthropic') for (const [name, value] of Object.entries(window)) res.setHeader(name, value);
    }

    const fault = faults.take(api);
    if (fault?.kind === 'reset') {
      record({ ...base, ...info, status: 0, fault: 'reset' });
      req.socket.destroy();
      return;
    }
    if (fault) return fail(faultError(fault, options.retryAfterSeconds ?? 1), { ...info, fault: fault.kind });

    let request: MessagesRequest;
    try {
      request =
        api === 'openai'
          ? chatRequest(body)
          : validateRequest(api === 'bedrock' ? bedrockRequest(body, modelId ?? '') : body);
    } catch (error) {
      if (error instanceof ApiError) return fail(error, info);
      throw error;
    }
    let thinkingBudget: number | undefined;
    try {
      thinkingBudget = thinkingBudgetOf(request);
      checkThinkingBlocks(request, signer);
    } catch (error) {
      if (error instanceof ApiError) return fail(error, info);
      throw error;
    }
    const { stage } = stageOf(request);
    const attempt = attemptOf(request);
    const context = buildContext(request, attempt);
    let spec: ResponseSpec;
    try {
      spec = script(request, context);
    } catch (error) {
      // A script may answer as the API does when it refuses a request (a 400, say).
      if (error instanceof ApiError) return fail(error, info);
      return fail(new ApiError(500, 'api_error', `scripted model failed: ${(error as Error).message}`), info);
    }
    const { content, stopReason } = materialise(
      spec,
      request.max_tokens,
      thinkingBudget === undefined ? undefined : { budgetTokens: thinkingBudget, signer },
    );
    const usage: Usage = { ...cache.account(request), output_tokens: outputTokensOf(content) };
    const message: MessageResponse = {
      id: randomId('msg_01', 22),
      type: 'message',
      role: 'assistant',
      model: request.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    };
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    record({
      ...base,
      ...info,
      status: 200,
      stage,
      attempt,
      tools: (request.tools ?? []).map((t) => t.name),
      toolCalls: content.flatMap((b) => (b.type === 'tool_use' ? [b.name] : [])),
      stopReason,
      usage,
      ...(thinkingBudget === undefined ? {} : { thinkingBudget }),
    });
    if (api === 'openai') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(chatResponse(message, now())));
      return;
    }
    if (api === 'bedrock') {
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-amzn-bedrock-input-token-count': String(usage.input_tokens),
        'x-amzn-bedrock-output-token-count': String(usage.output_tokens),
        'x-amzn-bedrock-invocation-latency': String(options.latencyMs ?? 0),
      });
      res.end(JSON.stringify(message));
      return;
    }
    if (request.stream === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      for (const { event, data } of streamEvents(message))
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(message));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      sendError(res, new ApiError(500, 'api_error', `model stand-in failed: ${(error as Error).message}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    calls: () => recorded.map((c) => ({ ...c })),
    setScript(next) {
      script = next;
    },
    reset() {
      recorded = [];
      seq = 0;
      faults.clear();
      cache.clear();
      conversations.clear();
      limiter?.reset();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { type Fault, type FaultKind, parseFaultList } from './faults';
export { type Scenario, SCENARIOS, scenarioList, scenarioNamed, scenarios } from './scenarios';
export { type Script, sampleScript } from './scripts';
