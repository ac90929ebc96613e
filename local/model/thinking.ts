import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MessagesRequest, ResponseBlock } from './api';
import { thinkingModeOf } from '../../functions/shared/domain/models';
import { ApiError } from './api-error';

/**
 * Extended thinking as the API does it (docs.claude.com, "Extended thinking"):
 * - `thinking: {type: "enabled", budget_tokens}` with budget_tokens ≥ 1024 and below max_tokens;
 * - the answer starts with a `thinking` block carrying a `signature`;
 * - thinking blocks sent back must be unchanged (the signature is checked), and while thinking is
 *   on, the last assistant message of a tool loop must start with its thinking block;
 * - an assistant message cannot end with a thinking block.
 * The signature here is an HMAC of the text with a key of this stand-in's own.
 */

const MIN_BUDGET = 1024;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (message: string) => new ApiError(400, 'invalid_request_error', message);

export class ThinkingSigner {
  private readonly key = randomBytes(32);

  sign(thinking: string): string {
    return createHmac('sha256', this.key).update(thinking).digest('base64');
  }

  verify(thinking: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(thinking));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** The request's thinking budget, or undefined when thinking is off; 400 on a bad setting. */
export function thinkingBudgetOf(request: MessagesRequest): number | undefined {
  const thinking = request.thinking;
  if (thinking === undefined) return undefined;
  if (!isObject(thinking) || !['enabled', 'disabled', 'adaptive'].includes(String(thinking.type)))
    throw invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'");
  if (thinking.type === 'disabled') return undefined;
  // Adaptive: the model decides how much to think, within max_tokens.
  if (thinking.type === 'adaptive') return Math.max(1, Math.floor(request.max_tokens / 4));
  if (thinkingModeOf(request.model) === 'adaptive')
    throw invalid(
      '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
    );
  const budget = thinking.budget_tokens;
  if (!Number.isInteger(budget) || (budget as number) < MIN_BUDGET)
    throw invalid(`thinking.enabled.budget_tokens: Input should be greater than or equal to ${MIN_BUDGET}`);
  if ((budget as number) >= request.max_tokens)
    throw invalid(
      '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size',
    );
  return budget as number;
}

/** Checks the thinking blocks a request sends back, as the API does. */
export function checkThinkingBlocks(request: MessagesRequest, signer: ThinkingSigner): void {
  const enabled = thinkingBudgetOf(request) !== undefined;
  const messages = request.messages;
  messages.forEach((message, i) => {
    if (message.role !== 'assistant' || typeof message.content === 'string') return;
    message.content.forEach((block, j) => {
      if (block.type !== 'thinking') return;
      const { thinking, signature } = block as { thinking?: unknown; signature?: unknown };
      if (
        typeof thinking !== 'string' ||
        typeof signature !== 'string' ||
        !signer.verify(thinking, signature)
      )
        throw invalid(`messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`);
    });
    if (message.content.at(-1)?.type === 'thinking')
      throw invalid(`messages.${i}: The final block in an assistant message cannot be \`thinking\`.`);
  });
  if (!enabled) return;
  // In a tool loop (the last user message answers tool calls), the last assistant message must
  // start with the thinking that led to those calls.
  const lastUser = messages.at(-1);
  const inToolLoop =
    lastUser?.role === 'user' &&
    Array.isArray(lastUser.content) &&
    lastUser.content.some((b) => b.type === 'tool_result');
  const at = messages.length - 2;
  const assistant = messages[at];
  if (!inToolLoop || assistant?.role !== 'assistant' || typeof assistant.content === 'string') return;
  const first = assistant.content[0];
  if (first?.type !== 'thinking' && first?.type !== 'redacted_thinking')
    throw invalid(
      `messages.${at}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.type)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`,
    );
}

/** The signed thinking block that opens an answer, within the budget (4 characters a token). */
export function thinkingBlock(
  text: string,
  budgetTokens: number,
  signer: ThinkingSigner,
): Extract<ResponseBlock, { type: 'thinking' }> {
  const thinking = text.slice(0, budgetTokens * 4);
  return { type: 'thinking', thinking, signature: signer.sign(thinking) };
}

/** What a scripted model thinks before a turn: what it is about to say and do. */
export function thoughtsBefore(
  content: ReadonlyArray<{ type: string; text?: string; name?: string }>,
): string {
  const said = content.flatMap((b) => (b.type === 'text' ? [String(b.text).slice(0, 200)] : []));
  const calls = content.flatMap((b) => (b.type === 'tool_use' ? [String(b.name)] : []));
  return [
    'Let me think about the next step.',
    ...said,
    calls.length > 0 ? `I will call ${calls.join(', ')}.` : 'I have nothing to call.',
  ].join(' ');
}
