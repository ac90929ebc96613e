import { wasCutShort } from '../shared/domain/cut-short';

/**
 * What the agent loop does with an assistant turn, by its stop reason (docs/agent.md, "Stop
 * reasons"):
 * - tool calls (`tool_use`, or `pause_turn` with calls): run them;
 * - `max_tokens` (or `model_context_window_exceeded`) with a tool call last: that call was cut, so
 *   it is answered with an error and never run; the calls before it are whole and run; the LLM
 *   worker doubles the next call's max_tokens;
 * - no tool call after `end_turn` (or an empty answer): a reminder to call the terminal tool, once;
 *   the second such turn in a row ends the stage BLOCKED with what the model said;
 * - no tool call after a cut or a pause: the model is asked to go on;
 * - `refusal`: the stage ends BLOCKED, nothing of the turn is run.
 */

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface AssistantTurn {
  content: unknown;
  stopReason?: string;
  model?: string;
}

export type TurnReading =
  | {
      kind: 'calls';
      /** Every tool call of the turn: each gets a tool_result. */
      calls: ToolUseBlock[];
      /** Calls answered with this error text instead of being run. */
      refused: Map<string, string>;
      /** When there is no call: the text of the next user turn. */
      note?: string;
    }
  | { kind: 'stop'; errorClass: 'ModelRefused' | 'NoSubmission'; cause: string };

const MAX_QUOTE_CHARS = 1000;

const isToolUse = (block: unknown): block is ToolUseBlock => {
  const b = block as Partial<ToolUseBlock> | null;
  return b?.type === 'tool_use' && typeof b.id === 'string' && typeof b.name === 'string';
};

const blocksOf = (content: unknown): unknown[] => (Array.isArray(content) ? content : []);

export const toolCallsOf = (turn: AssistantTurn): ToolUseBlock[] => blocksOf(turn.content).filter(isToolUse);

export function textOf(turn: AssistantTurn): string {
  return blocksOf(turn.content)
    .map((b) => {
      const block = b as { type?: unknown; text?: unknown };
      return block.type === 'text' && typeof block.text === 'string' ? block.text : '';
    })
    .join('\n')
    .trim();
}

/** A turn that ended without calling anything: end_turn, stop_sequence, an empty answer. */
const endedWithoutCall = (turn: AssistantTurn | undefined): boolean =>
  turn !== undefined &&
  toolCallsOf(turn).length === 0 &&
  !wasCutShort(turn.stopReason) &&
  turn.stopReason !== 'pause_turn' &&
  turn.stopReason !== 'refusal';

const quote = (text: string): string =>
  text.length > MAX_QUOTE_CHARS ? `${text.slice(0, MAX_QUOTE_CHARS)}…` : text;

export function readAssistantTurn(
  turn: AssistantTurn,
  previous: AssistantTurn | undefined,
  terminalTool: string,
): TurnReading {
  const said = textOf(turn);
  if (turn.stopReason === 'refusal') {
    return {
      kind: 'stop',
      errorClass: 'ModelRefused',
      cause: `The model${turn.model ? ` (${turn.model})` : ''} declined to continue this stage (stop reason "refusal"); nothing it asked for in that turn was run.${said ? `\nIts last words: ${quote(said)}` : ''}`,
    };
  }
  const calls = toolCallsOf(turn);
  const refused = new Map<string, string>();
  const last = blocksOf(turn.content).at(-1);
  if (wasCutShort(turn.stopReason) && isToolUse(last)) {
    refused.set(
      last.id,
      `Error: your ${last.name} call was cut off at the output limit before its input was complete, so it was not run. Call it again; the next answer may be twice as long. Keep each call small: write a large file in parts (write_file with the first part, then edit_file to append).`,
    );
  }
  if (calls.length > 0) return { kind: 'calls', calls, refused };
  if (wasCutShort(turn.stopReason)) {
    return {
      kind: 'calls',
      calls,
      refused,
      note: `Your answer was cut off at the output limit. Continue where you stopped, with the tools; call ${terminalTool} when you are done.`,
    };
  }
  if (turn.stopReason === 'pause_turn') return { kind: 'calls', calls, refused, note: 'Continue.' };
  if (endedWithoutCall(previous)) {
    return {
      kind: 'stop',
      errorClass: 'NoSubmission',
      cause: `The model ended its turn twice in a row without calling ${terminalTool} (the second time after a reminder), so the stage stopped.${said ? `\nIts last words: ${quote(said)}` : ' Its last answer was empty.'}`,
    };
  }
  return {
    kind: 'calls',
    calls,
    refused,
    note: `You ended your turn without calling a tool. This stage ends only when you call ${terminalTool}: continue the work with the tools, or call ${terminalTool} now (with status BLOCKED and the blockers if you cannot go on).`,
  };
}
