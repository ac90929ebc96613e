import { causeText, type StateError } from '../shared/state-error';
import { wasCutShort } from '../shared/domain/cut-short';
import * as z from 'zod';
import { FactoryError } from '../shared/errors';
import type { Ask } from '../shared/ports';
import { MAX_ASK_TURNS } from '../shared/domain/turns';
import { askDailyAccount } from '../shared/store/asks';
import type { CopilotPorts } from './ports';
import { COPILOT_SYSTEM, fenced, firstTurn } from './prompt';
import { checkProposals, MAX_PROPOSALS, ProposalInput } from './proposals';
import {
  READ_TOOLS,
  type ReadToolName,
  runReadTool,
  schemaOf,
  TOOL_INPUTS,
  type ToolDefinition,
  visibility,
} from './tools';

/**
 * The copilot's agent loop as steps of statemachines/ask.ts: `start` writes the conversation,
 * the LLM worker answers each assistant turn (alias `fast`, the ask's budget and the key's daily
 * cap), `tools` runs that turn's read-only tool calls and stores the results as the next user
 * turn, until `submit_answer` writes the answer; `fail` ends the ask with the error.
 */

const MAX_TOKENS = 2048;
const MAX_RESULT_CHARS = 24_000;

export const SubmitAnswer = z
  .object({
    answer: z.string().min(1).max(6000),
    proposals: z.array(ProposalInput).max(MAX_PROPOSALS).optional(),
  })
  .strict();

export const SUBMIT_ANSWER: ToolDefinition = {
  name: 'submit_answer',
  description:
    'Ends the ask: the answer for the person, and up to five proposed actions, each run only if a person confirms it.',
  input_schema: schemaOf(SubmitAnswer),
};

export const COPILOT_TOOLS: ToolDefinition[] = [...READ_TOOLS, SUBMIT_ANSWER];

export interface AskPointer {
  conversationId: string;
  /** The next assistant turn the LLM worker answers (odd). */
  turn: number;
  /** `continue`, `answered`, or `exhausted` (out of turns). */
  outcome: string;
}

async function pendingAsk(ports: CopilotPorts, askId: string): Promise<Ask> {
  const ask = await ports.store.getAsk(askId);
  if (!ask) throw new FactoryError('AskNotFound', `ask ${askId} not found`);
  return ask;
}

export async function startAsk(ports: CopilotPorts, askId: string): Promise<AskPointer> {
  const ask = await pendingAsk(ports, askId);
  // One conversation per ask, named after it: a retried start writes nothing new.
  const conversationId = `ask-${askId}`;
  const createdAt = new Date(ports.clock.now()).toISOString();
  if (!(await ports.store.getTurn(conversationId, 0))) {
    await ports.store.putConversation({
      conversationId,
      runId: askId,
      stage: 'ask',
      modelAlias: 'fast',
      system: COPILOT_SYSTEM,
      tools: COPILOT_TOOLS,
      maxTokens: MAX_TOKENS,
      models: ports.models,
      budgetUsd: ports.budget.askUsd,
      dailyBudget: {
        account: askDailyAccount(ask.keyHash, Date.parse(ask.createdAt)),
        limitUsd: ports.budget.dailyUsd,
      },
      account: 'ask',
      createdAt,
    });
    await ports.store.putTurn({
      conversationId,
      turn: 0,
      runId: askId,
      stage: 'ask',
      role: 'user',
      content: [{ type: 'text', text: firstTurn(ask, createdAt) }],
      createdAt,
    });
  }
  return { conversationId, turn: 1, outcome: 'continue' };
}

interface ToolUse {
  type: 'tool_use';
  id: string;
  name: string;
  input?: unknown;
}

const blocksOf = (content: unknown): Array<Record<string, unknown>> =>
  Array.isArray(content) ? (content as Array<Record<string, unknown>>) : [];

const toolResult = (id: string, content: string, isError: boolean) => ({
  type: 'tool_result',
  tool_use_id: id,
  content,
  is_error: isError,
});

const clipped = (text: string) =>
  text.length > MAX_RESULT_CHARS
    ? `${text.slice(0, MAX_RESULT_CHARS)}\n[truncated: ${text.length} chars]`
    : text;

export async function askTools(
  ports: CopilotPorts,
  askId: string,
  conversationId: string,
  turn: number,
): Promise<AskPointer> {
  const assistant = await ports.store.getTurn(conversationId, turn);
  // Only what the LLM worker stored counts: a forged task answer has no turn behind it.
  if (assistant?.role !== 'assistant' || assistant.runId !== askId)
    throw new FactoryError('TurnNotRecorded', `the model turn ${turn} of ${conversationId} was not recorded`);
  const answered = await ports.store.getTurn(conversationId, turn + 1);
  if (answered) return { conversationId, turn: turn + 2, outcome: answered.outcome ?? 'continue' };
  // A refusal may stop the answer part-way: nothing of that turn runs, and its text is no answer.
  if (assistant.stopReason === 'refusal')
    throw new FactoryError(
      'ModelRefused',
      'the model declined to answer (stop reason "refusal"); nothing it asked for in that turn was run',
    );
  const ask = await pendingAsk(ports, askId);
  const canSee = visibility(ask);

  const blocks = blocksOf(assistant.content);
  const calls = blocks.filter((b): b is ToolUse & Record<string, unknown> => b.type === 'tool_use');
  // An answer cut at the output limit may end in a tool call whose input was cut short (a
  // submit_answer's answer mid-sentence): that call is never run, as in the stages' loop.
  const cut = wasCutShort(assistant.stopReason);
  const lastBlock = blocks.at(-1);
  const cutCall = cut && lastBlock?.type === 'tool_use' ? lastBlock : undefined;
  const results: unknown[] = [];
  let outcome = 'continue';
  if (calls.length === 0) {
    // A plain text answer (no submit_answer) is still an answer, without proposals.
    const text = blocks
      .filter((b) => b.type === 'text' && typeof b.text === 'string')
      .map((b) => String(b.text))
      .join('\n')
      .trim();
    if (text && !cut) {
      await ports.store.finishAsk(askId, { status: 'ANSWERED', answer: text, proposals: [] });
      outcome = 'answered';
    } else results.push({ type: 'text', text: 'Use the tools, then call submit_answer.' });
  }
  for (const call of calls) {
    if (call === cutCall) {
      results.push(
        toolResult(
          call.id,
          `Error: your ${call.name} call was cut off at the output limit before its input was complete, so it was not run. Call it again, shorter.`,
          true,
        ),
      );
      continue;
    }
    if (outcome === 'answered') {
      results.push(toolResult(call.id, 'Error: the answer was already submitted', true));
      continue;
    }
    if (call.name === SUBMIT_ANSWER.name) {
      const input = SubmitAnswer.safeParse(call.input ?? {});
      if (!input.success) {
        results.push(
          toolResult(
            call.id,
            `Error: ${input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
            true,
          ),
        );
        continue;
      }
      const checked = await checkProposals(ports, canSee, input.data.proposals ?? []);
      if (!checked.ok) {
        results.push(toolResult(call.id, `Error: ${checked.error}`, true));
        continue;
      }
      await ports.store.finishAsk(askId, {
        status: 'ANSWERED',
        answer: input.data.answer,
        proposals: checked.proposals,
      });
      results.push(toolResult(call.id, 'submitted', false));
      outcome = 'answered';
      continue;
    }
    if (!(call.name in TOOL_INPUTS)) {
      results.push(toolResult(call.id, `Error: unknown tool ${call.name}; the tools only read`, true));
      continue;
    }
    const answer = await runReadTool(ports, ask, call.name as ReadToolName, call.input);
    results.push(
      answer.ok
        ? toolResult(call.id, clipped(fenced(answer.output)), false)
        : toolResult(call.id, `Error: ${answer.error}`, true),
    );
  }
  const modelTurns = (turn + 1) / 2;
  if (outcome === 'continue' && modelTurns >= MAX_ASK_TURNS) outcome = 'exhausted';
  else if (outcome === 'continue' && modelTurns === MAX_ASK_TURNS - 1)
    results.push({ type: 'text', text: 'One turn left: call submit_answer now.' });
  await ports.store.putTurn({
    conversationId,
    turn: turn + 1,
    runId: askId,
    stage: 'ask',
    role: 'user',
    content: results,
    outcome,
    createdAt: new Date(ports.clock.now()).toISOString(),
  });
  return { conversationId, turn: turn + 2, outcome };
}

/** The state machine's failure path: the ask ends FAILED with the error (budget, turns, model). */
export async function failAsk(
  ports: CopilotPorts,
  askId: string,
  error: StateError | null,
): Promise<{ status: string }> {
  const errorClass = (error?.Error ?? 'AskFailed').slice(0, 100);
  const cause = causeText(error?.Cause ?? 'the copilot could not answer').slice(0, 2000);
  await ports.store.finishAsk(askId, { status: 'FAILED', error: { class: errorClass, cause } });
  ports.log.warn('ask failed', { askId, error: errorClass });
  return { status: 'FAILED' };
}
