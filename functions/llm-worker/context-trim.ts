import type { LlmRequest } from '../shared/ports';

/**
 * Recovery from "prompt is too long": older context is cleared, level by level, and the call is
 * made again. The first user message (the task, plan, repository guidance, diff) and the latest
 * messages stay whole; older tool results become a short marker, and from level 2 the long
 * strings in older tool inputs (a written file's content) too. Tool calls and results keep their
 * ids and order, so the conversation stays valid. The level a conversation reached is remembered
 * (trimKey), so its later turns start there instead of failing first.
 */

export const MAX_TRIM_LEVEL = 3;
/** Latest messages kept whole, by level (level 0 clears nothing). */
const KEEP_LATEST = [Number.POSITIVE_INFINITY, 8, 4, 2];
const LONG_INPUT_CHARS = 200;
export const CLEARED_RESULT =
  '[older tool result cleared to fit the context window; call the tool again if you need it]';
const CLEARED_INPUT = '[cleared to fit the context window]';

export const trimKey = (conversationId: string) => `llm-trim#${conversationId}`;

export type Block = Record<string, unknown>;
export type Message = LlmRequest['messages'][number];

export const isBlock = (value: unknown): value is Block =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function clearBlock(block: Block, level: number): Block {
  if (block.type === 'tool_result') return { ...block, content: CLEARED_RESULT };
  if (block.type === 'tool_use' && level >= 2 && isBlock(block.input)) {
    const input = Object.fromEntries(
      Object.entries(block.input).map(([key, value]) => [
        key,
        typeof value === 'string' && value.length > LONG_INPUT_CHARS ? CLEARED_INPUT : value,
      ]),
    );
    return { ...block, input };
  }
  return block;
}

export function trimmed(messages: readonly Message[], level: number): Message[] {
  const keep = KEEP_LATEST[Math.min(Math.max(level, 0), MAX_TRIM_LEVEL)] ?? 0;
  const firstKept = Math.max(1, messages.length - keep);
  return messages.map((message, index) =>
    index === 0 || index >= firstKept || !Array.isArray(message.content)
      ? message
      : { ...message, content: message.content.map((b) => (isBlock(b) ? clearBlock(b, level) : b)) },
  );
}

/** The next level that clears more than `level` does, or undefined when none would. */
export function nextTrimLevel(messages: readonly Message[], level: number): number | undefined {
  const now = JSON.stringify(trimmed(messages, level));
  for (let next = level + 1; next <= MAX_TRIM_LEVEL; next++)
    if (JSON.stringify(trimmed(messages, next)) !== now) return next;
  return undefined;
}
