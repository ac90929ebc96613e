import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import type { Llm, LlmRequest, LlmResponse } from '../ports';
import { classifyLlmError, requestParams, toContent, toLlmUsage } from './anthropic';
import { estimateInputTokens } from './llm-http';

/**
 * The `Llm` port over Amazon Bedrock's runtime API with `@anthropic-ai/bedrock-sdk`: the same
 * Messages shapes (and the same prompt caching breakpoints) as the Anthropic adapter, sent as
 * `POST /model/{modelId}/invoke` and SigV4-signed with the function's role (the SDK's default
 * credential chain). `modelId` is a Bedrock model id or a cross-region inference profile id
 * (`us.anthropic.…`).
 *
 * - Always InvokeModel, never the response stream: the request carries its own timeout (below the
 *   Lambda's), which is what the SDK's streaming requirement protects against, and one JSON body is
 *   simpler to account for than an event stream.
 * - Throttling (`ThrottlingException`, HTTP 429, without retry-after) is classified as rate_limited
 *   with the default wait, 503 `ServiceUnavailableException` as server: the worker then paces,
 *   delays the message or falls back along the alias's list, never sleeping.
 * - Bedrock has no token counting endpoint: the reservation is sized by a conservative estimate.
 */

/** The body version Bedrock requires of Anthropic models (the SDK moves this header into the body). */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

export interface BedrockLlmOptions {
  /** Default: AWS_REGION as the SDK reads it. */
  region?: string;
  /** Unset = `https://bedrock-runtime.<region>.amazonaws.com`; the embedded stack's stand-in locally. */
  baseURL?: string;
  timeoutMs?: number;
  client?: AnthropicBedrock;
}

export class BedrockLlm implements Llm {
  private readonly client: AnthropicBedrock;
  private readonly timeoutMs: number;

  constructor(options: BedrockLlmOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10 * 60_000;
    this.client =
      options.client ??
      new AnthropicBedrock({
        ...(options.region ? { awsRegion: options.region } : {}),
        ...(options.baseURL ? { baseURL: options.baseURL } : {}),
        // IAM, never a bearer token from the environment.
        apiKey: null,
        defaultHeaders: { 'anthropic-version': BEDROCK_ANTHROPIC_VERSION },
        maxRetries: 0,
      });
  }

  /** `request.model` is the Bedrock model or inference profile id (the router strips the prefix). */
  async createMessage(request: LlmRequest): Promise<LlmResponse> {
    try {
      const message = await this.client.messages.create(
        { ...requestParams(request), stream: false },
        { timeout: this.timeoutMs },
      );
      return {
        model: request.model,
        content: toContent(message.content),
        stopReason: message.stop_reason ?? 'end_turn',
        usage: toLlmUsage(message.usage),
      };
    } catch (error) {
      throw classifyLlmError(error);
    }
  }

  async countTokens(request: LlmRequest): Promise<number> {
    return estimateInputTokens(request);
  }
}
