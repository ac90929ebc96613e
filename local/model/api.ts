/**
 * The subset of the Anthropic Messages API wire format the stand-in reads and writes.
 * Loosely typed on purpose: requests are validated by `validateRequest` in server.ts, the way the
 * real API answers a malformed body with a 400, not by trusting these types.
 */

export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

export interface ToolDefinitionParam {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  cache_control?: CacheControl;
}

export interface TextBlockParam {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}

export interface ToolUseBlockParam {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
  cache_control?: CacheControl;
}

export interface ToolResultBlockParam {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<{ type: string; text?: string }>;
  is_error?: boolean;
  cache_control?: CacheControl;
}

export type ContentBlockParam =
  | TextBlockParam
  | ToolUseBlockParam
  | ToolResultBlockParam
  | { type: string; cache_control?: CacheControl; [key: string]: unknown };

export interface MessageParam {
  role: 'user' | 'assistant';
  content: string | ContentBlockParam[];
}

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string | TextBlockParam[];
  tools?: ToolDefinitionParam[];
  stream?: boolean;
  [key: string]: unknown;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  service_tier: 'standard';
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'pause_turn' | 'refusal';

export type ResponseBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface MessageResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ResponseBlock[];
  stop_reason: StopReason;
  stop_sequence: null;
  usage: Usage;
}

/** The blocks of a message, with a plain string turned into one text block. */
export function blocksOf(message: MessageParam): ContentBlockParam[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

/** All text a block carries (text, tool input, tool result), for token estimates and scripts. */
export function textOfBlock(block: ContentBlockParam): string {
  switch (block.type) {
    case 'text':
      return String((block as TextBlockParam).text ?? '');
    case 'tool_use': {
      const use = block as ToolUseBlockParam;
      return `${use.name} ${JSON.stringify(use.input ?? {})}`;
    }
    case 'tool_result': {
      const content = (block as ToolResultBlockParam).content;
      if (content === undefined) return '';
      if (typeof content === 'string') return content;
      return content
        .map((part) => (typeof part.text === 'string' ? part.text : JSON.stringify(part)))
        .join('\n');
    }
    default: {
      const { cache_control: _ignored, ...rest } = block;
      return JSON.stringify(rest);
    }
  }
}
