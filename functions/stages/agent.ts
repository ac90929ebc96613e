import { FactoryError } from '../shared/errors';
import type { Run, Stage } from '../shared/domain/run';
import type { ConversationMeta } from '../shared/ports';
import type { StagePorts } from './deps';
import { mutateRun } from '../shared/run-state';
import { readAssistantTurn, type TurnReading, toolCallsOf } from './stop-reasons';
import { toolInputError } from './tool-input';
import {
  isErrorText,
  runWorkbenchTool,
  type ToolDefinition,
  WORKBENCH_READ_TOOLS,
  WORKBENCH_WRITE_TOOLS,
} from './workbench';
import { workspaceOf } from './workspace';

/**
 * The agent loop as state-machine steps (docs/architecture.md): `start` writes the conversation's
 * stable prefix and first user turn; the LLM worker answers each assistant turn; `tools` runs the
 * tool calls of that turn and stores the results as the next user turn, until the stage's
 * terminal tool (`submit_plan`, `submit_change`, `submit_review`) is called with a valid input.
 */

export type ModelAlias = ConversationMeta['modelAlias'];

export interface SubmitDecision {
  /** The Route state's outcome: `continue` keeps looping (e.g. after an invalid submission). */
  outcome: string;
  /** Told to the model when the submission is refused (outcome `continue`). */
  feedback?: string;
}

export interface AgentSpec {
  stage: Extract<Stage, 'plan' | 'implement' | 'review'>;
  alias: ModelAlias;
  allowWrites: boolean;
  terminalTool: ToolDefinition;
  maxTokens: number;
  /** Validates the terminal tool's input and records what it decided on the run. */
  onSubmit(deps: StagePorts, run: Run, input: Record<string, unknown>): Promise<SubmitDecision>;
}

export interface LoopPointer {
  conversationId: string;
  /** The next turn the LLM worker answers (always an assistant turn: odd numbers). */
  turn: number;
  outcome: string;
}

export function toolsFor(spec: AgentSpec): ToolDefinition[] {
  return [...WORKBENCH_READ_TOOLS, ...(spec.allowWrites ? WORKBENCH_WRITE_TOOLS : []), spec.terminalTool];
}

export async function startAgent(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  prompt: { system: string; user: string },
): Promise<LoopPointer> {
  const conversationId = deps.ids.ulid();
  const createdAt = deps.now();
  const contract = deps.contractOf(run);
  await deps.store.putConversation({
    conversationId,
    runId: run.runId,
    stage: spec.stage,
    modelAlias: spec.alias,
    system: prompt.system,
    tools: toolsFor(spec),
    maxTokens: spec.maxTokens,
    models: contract.models[spec.alias],
    budgetUsd: contract.budgetUsd,
    ...(contract.monthlyBudgetUsd
      ? { monthlyBudget: { repo: run.repo, limitUsd: contract.monthlyBudgetUsd } }
      : {}),
    createdAt,
  });
  await deps.store.putTurn({
    conversationId,
    turn: 0,
    runId: run.runId,
    stage: spec.stage,
    role: 'user',
    content: [{ type: 'text', text: prompt.user }],
    createdAt,
  });
  await mutateRun(deps, run.runId, (current) => ({
    conversations: [...current.conversations, { stage: spec.stage, conversationId }].slice(-100),
  }));
  return { conversationId, turn: 1, outcome: 'continue' };
}

/**
 * The turn's task was answered, but the LLM worker stored no such assistant turn: the answer did
 * not come from the worker (a forged SendTaskSuccess), so there is nothing to act on.
 */
export class TurnNotRecorded extends FactoryError {
  constructor(conversationId: string, turn: number) {
    super(
      'TurnNotRecorded',
      `the model turn ${turn} of ${conversationId} was answered, but the LLM worker recorded no such turn`,
    );
  }
}

export async function runAgentTools(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  conversationId: string,
  turn: number,
): Promise<LoopPointer> {
  const assistant = await deps.store.getTurn(conversationId, turn);
  if (assistant?.role !== 'assistant' || assistant.runId !== run.runId)
    throw new TurnNotRecorded(conversationId, turn);
  // Idempotent on retry: if this step already stored the next user turn, answer from it.
  const next = await deps.store.getTurn(conversationId, turn + 1);
  if (next) return { conversationId, turn: turn + 2, outcome: next.outcome ?? 'continue' };

  // The stop reason decides (stop-reasons.ts); a cut call or an input that does not fit the
  // tool's schema is answered with the error and never run.
  const idle = turn >= 3 && toolCallsOf(assistant).length === 0;
  const previous = idle ? await deps.store.getTurn(conversationId, turn - 2) : undefined;
  const reading = readAssistantTurn(assistant, previous, spec.terminalTool.name);
  if (reading.kind === 'stop') return stopAgent(deps, run, spec, conversationId, turn, reading);
  const { calls, refused } = reading;
  const tools = toolsFor(spec);
  for (const call of calls) {
    const problem = refused.has(call.id) ? undefined : toolInputError(tools, call.name, call.input);
    if (problem) refused.set(call.id, problem);
  }
  const workbench = calls.some((call) => call.name !== spec.terminalTool.name && !refused.has(call.id))
    ? await workspaceOf(deps, run)
    : undefined;

  // The workspace tools of one turn run concurrently; the terminal tool runs after them, so a
  // submission sees every change the same turn made. Results keep the order of the calls.
  const answers = new Map<string, Promise<string>>();
  for (const call of calls)
    if (call.name !== spec.terminalTool.name && workbench && !refused.has(call.id))
      answers.set(
        call.id,
        runWorkbenchTool(workbench, call.name, call.input ?? {}, { allowWrites: spec.allowWrites }),
      );
  await Promise.all(answers.values());
  const results: unknown[] = [];
  let outcome = 'continue';
  for (const call of calls) {
    const refusal = refused.get(call.id);
    if (refusal) {
      results.push({ type: 'tool_result', tool_use_id: call.id, content: refusal, is_error: true });
      continue;
    }
    if (call.name === spec.terminalTool.name) {
      const decision = await spec.onSubmit(deps, run, call.input as Record<string, unknown>);
      if (decision.outcome !== 'continue') outcome = decision.outcome;
      results.push({
        type: 'tool_result',
        tool_use_id: call.id,
        content: decision.feedback ?? 'submitted',
        is_error: decision.outcome === 'continue',
      });
      continue;
    }
    const output = (await answers.get(call.id)) ?? `Error: unknown tool ${call.name}`;
    results.push({
      type: 'tool_result',
      tool_use_id: call.id,
      content: output,
      is_error: isErrorText(output),
    });
  }
  if (calls.length === 0 && reading.note) results.push({ type: 'text', text: reading.note });

  await deps.store.putTurn({
    conversationId,
    turn: turn + 1,
    runId: run.runId,
    stage: spec.stage,
    role: 'user',
    content: results,
    outcome,
    createdAt: deps.now(),
  });
  return { conversationId, turn: turn + 2, outcome };
}

/** The model refused, or ended twice without submitting: the stage ends BLOCKED, saying why. */
async function stopAgent(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  conversationId: string,
  turn: number,
  reading: Extract<TurnReading, { kind: 'stop' }>,
): Promise<LoopPointer> {
  await mutateRun(deps, run.runId, () => ({
    error: { class: reading.errorClass, cause: reading.cause.slice(0, 4000) },
  }));
  await deps.store.appendEvent(run.runId, {
    type: 'agent.stopped',
    actor: 'stage-runner',
    data: { stage: spec.stage, reason: reading.errorClass, turn },
  });
  await deps.store.putTurn({
    conversationId,
    turn: turn + 1,
    runId: run.runId,
    stage: spec.stage,
    role: 'user',
    content: [{ type: 'text', text: reading.cause }],
    outcome: 'blocked',
    createdAt: deps.now(),
  });
  return { conversationId, turn: turn + 2, outcome: 'blocked' };
}
