import { type Block, isBlock, type Message } from './context-trim';

/**
 * The messages a request carries, built from the stored turns. The stored turns stay as the model
 * gave them (the record); what is sent never holds an assistant turn without content, which the
 * API refuses with a 400 (an empty `end_turn` after tool results is a documented model behaviour):
 * such a turn is left out and the user turns around it go as one message, the stage's reminder
 * after the tool results. Blank text blocks are left out too, and a tool call whose input is not
 * an object (one cut at max_tokens) is sent with an empty input.
 */

function blocksOf(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isBlock) : [];
}

function sendable(block: Block): Block | undefined {
  if (block.type === 'text') return typeof block.text === 'string' && block.text.trim() ? block : undefined;
  if (block.type === 'tool_use' && !isBlock(block.input)) return { ...block, input: {} };
  return block;
}

/** Text or a tool call: what makes an assistant turn worth sending (thinking alone is not). */
const isAnswer = (block: Block): boolean => block.type === 'text' || block.type === 'tool_use';

export function sendableMessages(
  turns: ReadonlyArray<{ role: Message['role']; content: unknown }>,
): Message[] {
  const out: Array<{ role: Message['role']; content: Block[] }> = [];
  for (const turn of turns) {
    const blocks = blocksOf(turn.content)
      .map(sendable)
      .filter((block): block is Block => block !== undefined);
    if (turn.role === 'assistant' ? !blocks.some(isAnswer) : blocks.length === 0) continue;
    const last = out.at(-1);
    if (last?.role === turn.role) last.content.push(...blocks);
    else out.push({ role: turn.role, content: blocks });
  }
  return out;
}
