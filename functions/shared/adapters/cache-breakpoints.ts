/**
 * Where a Messages request's prompt-cache breakpoints go. The API accepts at most 4 blocks with
 * `cache_control` a request (a 5th is a 400), and a breakpoint finds an earlier cached prefix
 * only within the 20 blocks before it: one turn with a dozen tool calls and their results is
 * past that, and a single breakpoint on the last block would then miss every turn's cache.
 *
 * So, at most 4, each where it pays:
 * 1. the last tool: the tool list, the same for every conversation of a stage;
 * 2. the system prompt: tools + system, the same for every turn of a conversation;
 * 3. the end of the user message before the last assistant turn: exactly where the previous
 *    request's last breakpoint was, so this request reads that prefix however many blocks the
 *    last turn added;
 * 4. the last block: what the next request reads through its breakpoint 3.
 * Breakpoints already on the messages (none are stored, but history is data) are removed first.
 */

export const MAX_CACHE_BREAKPOINTS = 4;
const EPHEMERAL = { type: 'ephemeral' } as const;

type Block = Record<string, unknown>;
export interface CacheMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

/** Blocks that accept `cache_control` (thinking blocks and empty text do not). */
const cacheable = (block: Block): boolean =>
  ['tool_use', 'tool_result', 'image', 'document'].includes(String(block.type)) ||
  (block.type === 'text' && typeof block.text === 'string' && block.text.length > 0);

const isBlock = (value: unknown): value is Block =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function withoutControls(block: Block): Block {
  const { cache_control: _dropped, ...rest } = block;
  if (rest.type === 'tool_result' && Array.isArray(rest.content))
    rest.content = rest.content.map((part) => (isBlock(part) ? withoutControls(part) : part));
  return rest;
}

/** Marks the last cacheable block of `message`; false when it has none. */
function mark(message: CacheMessage): boolean {
  if (typeof message.content === 'string') {
    if (message.content.length === 0) return false;
    message.content = [{ type: 'text', text: message.content, cache_control: EPHEMERAL }];
    return true;
  }
  for (let i = message.content.length - 1; i >= 0; i--) {
    const block = message.content[i];
    if (block && cacheable(block)) {
      message.content[i] = { ...block, cache_control: EPHEMERAL };
      return true;
    }
  }
  return false;
}

/** Copies of the messages with breakpoints 3 and 4 (see above); the input is not changed. */
export function withMessageBreakpoints(messages: readonly CacheMessage[]): CacheMessage[] {
  const out = messages.map(
    (m): CacheMessage => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map(withoutControls),
    }),
  );
  const last = out.length - 1;
  const lastAssistant = out.findLastIndex((m, i) => m.role === 'assistant' && i < last);
  const previousEnd = out.findLastIndex((m, i) => m.role === 'user' && i < lastAssistant);
  const at = out[previousEnd];
  if (at) mark(at);
  const end = out[last];
  if (end) mark(end);
  return out;
}

/** How many blocks of a request body carry `cache_control` (tools, system, messages, nested). */
export function countBreakpoints(body: { tools?: unknown; system?: unknown; messages?: unknown }): number {
  const count = (value: unknown): number => {
    if (Array.isArray(value)) return value.reduce((n: number, v) => n + count(v), 0);
    if (!isBlock(value)) return 0;
    return (value.cache_control !== undefined ? 1 : 0) + count(value.content);
  };
  return count(body.tools) + count(body.system) + count(body.messages);
}
