import { refusedOutcome, type SandboxJob, type SandboxOutcome } from '../shared/domain/sandbox-job';
import { FactoryError } from '../shared/errors';
import type { Run, Stage } from '../shared/domain/run';
import type { ConversationMeta } from '../shared/ports';
import type { RunContract } from '../shared/run-contract';
import type { StagePorts } from './deps';
import { mutateRun, recordRunError } from '../shared/run-state';
import { readAssistantTurn, type TurnReading, toolCallsOf } from './stop-reasons';
import { toolInputError } from './tool-input';
import {
  answerOf,
  type DeferredCall,
  deferToSandbox,
  MAX_RUN_CALLS_PER_TURN,
  type PendingTurn,
  pendingTurnOf,
  runCommandOf,
  handOver,
  sandboxOutcomes,
  setupOutcomeOf,
  storePendingTurn,
} from './sandbox';
import {
  isErrorText,
  RUN_TOOL,
  runWorkbenchTool,
  type ToolDefinition,
  WORKBENCH_READ_TOOLS,
  WORKBENCH_WRITE_TOOLS,
} from './workbench';
import { workspaceOf } from './workspace';
import { forgetSandboxSettlement, reserveSandbox, settleSandbox } from './sandbox-budget';
import { sandboxEnvironmentOf } from './sandbox-environment';
import { judgeChecks } from './sandbox-checks';
import { turnAllowance, turnBudgetAt, turnsLeftNote } from './turn-budget';

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
  /** Commands that must pass in the sandbox before the submission is accepted. */
  checks?: string[];
  /** The checks were detected, not declared: their failures are advice only (decision 0005). */
  advisory?: boolean;
}

/** What an onSubmit call knows: `checked` once the submission's sandbox checks passed (or could not run). */
export interface SubmitContext {
  checked: boolean;
}

export interface AgentSpec {
  stage: Extract<Stage, 'plan' | 'implement' | 'review'>;
  alias: ModelAlias;
  allowWrites: boolean;
  /** Offers `run` (the sandbox) to the model; the state machine must route outcome `sandbox`. */
  sandbox?: boolean;
  terminalTool: ToolDefinition;
  /** Workbench tools this stage does not offer. */
  omitTools?: readonly string[];
  maxTokens: number;
  /** Validates the terminal tool's input and records what it decided on the run. */
  onSubmit(
    deps: StagePorts,
    run: Run,
    input: Record<string, unknown>,
    context: SubmitContext,
  ): Promise<SubmitDecision>;
}

/** The model submitted BLOCKED: the run ends with its blockers, one a line, as the cause. */
export async function blockStage(deps: StagePorts, run: Run, blockers: string[]): Promise<SubmitDecision> {
  const cause = blockers.map((blocker) => `- ${blocker}`).join('\n');
  await recordRunError(deps, run.runId, 'Blocked', cause);
  return { outcome: 'blocked' };
}

export interface LoopPointer {
  conversationId: string;
  /** The next turn the LLM worker answers (always an assistant turn: odd numbers). */
  turn: number;
  outcome: string;
  /** Outcome `sandbox`: the job the state machine hands the sandbox function. */
  sandbox?: SandboxJob;
}

export function toolsFor(spec: AgentSpec): ToolDefinition[] {
  return [
    ...WORKBENCH_READ_TOOLS,
    ...(spec.allowWrites ? WORKBENCH_WRITE_TOOLS : []),
    ...(spec.sandbox ? [RUN_TOOL] : []),
  ]
    .filter((tool) => !spec.omitTools?.includes(tool.name))
    .concat(spec.terminalTool);
}

/** What every model call of a run reserves against: the run's budget, and the repo's monthly cap. */
export const budgetsOf = (
  run: Pick<Run, 'repo'>,
  contract: Pick<RunContract, 'budgetUsd' | 'monthlyBudgetUsd'>,
): Pick<ConversationMeta, 'budgetUsd' | 'monthlyBudget'> => ({
  budgetUsd: contract.budgetUsd,
  ...(contract.monthlyBudgetUsd
    ? { monthlyBudget: { repo: run.repo, limitUsd: contract.monthlyBudgetUsd } }
    : {}),
});

export async function startAgent(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  prompt: { system: string; user: string },
): Promise<LoopPointer> {
  const conversationId = deps.ids.ulid();
  const createdAt = deps.now();
  const contract = deps.contractOf(run);
  const thinking = contract.thinking?.[spec.stage];
  await deps.store.putConversation({
    conversationId,
    runId: run.runId,
    stage: spec.stage,
    modelAlias: spec.alias,
    system: prompt.system,
    tools: toolsFor(spec),
    maxTokens: spec.maxTokens,
    ...(thinking ? { thinkingBudgetTokens: thinking } : {}),
    models: contract.models[spec.alias],
    ...budgetsOf(run, contract),
    createdAt,
  });
  await deps.store.putTurn({
    conversationId,
    turn: 0,
    runId: run.runId,
    stage: spec.stage,
    role: 'user',
    content: [
      { type: 'text', text: prompt.user },
      { type: 'text', text: turnAllowance(contract.turns[spec.stage], spec.terminalTool.name) },
    ],
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

  // A turn already handed to the sandbox: hand it over again (a retried step).
  const waiting = await pendingTurnOf(deps, run.runId, conversationId, turn);
  if (waiting) return { conversationId, turn, ...(await handOver(deps, run, conversationId, turn, waiting)) };

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
  const isWorkbenchCall = (call: { id: string; name: string }) =>
    !refused.has(call.id) &&
    call.name !== spec.terminalTool.name &&
    !(spec.sandbox && call.name === RUN_TOOL.name);
  const workbench = calls.some(isWorkbenchCall) ? await workspaceOf(deps, run) : undefined;

  // The workspace tools of one turn run concurrently; the terminal tool runs after them, so a
  // submission sees every change the same turn made. Results keep the order of the calls.
  const answers = new Map<string, Promise<string>>();
  for (const call of calls)
    if (isWorkbenchCall(call) && workbench)
      answers.set(
        call.id,
        runWorkbenchTool(workbench, call.name, call.input ?? {}, { allowWrites: spec.allowWrites }),
      );
  await Promise.all(answers.values());
  const results: unknown[] = [];
  const deferred: DeferredCall[] = [];
  let outcome = 'continue';
  for (const call of calls) {
    const input = (call.input ?? {}) as Record<string, unknown>;
    const refusal = refused.get(call.id);
    if (refusal) {
      results.push(toolResult(call.id, refusal, true));
      continue;
    }
    if (call.name === spec.terminalTool.name) {
      const decision = await spec.onSubmit(deps, run, input, { checked: false });
      if (decision.checks?.length) {
        const timeoutSeconds = deps.contractOf(run).environment.maxRunSeconds;
        const commands = decision.checks.map((command) => ({ command, timeoutSeconds }));
        deferred.push({
          index: results.length,
          toolUseId: call.id,
          kind: 'checks',
          commands,
          submitInput: input,
          ...(decision.advisory ? { advisory: true } : {}),
        });
        results.push(null);
        continue;
      }
      if (decision.outcome !== 'continue') outcome = decision.outcome;
      results.push(toolResult(call.id, decision.feedback ?? 'submitted', decision.outcome === 'continue'));
      continue;
    }
    if (!isWorkbenchCall(call)) {
      const command = runCommandOf(input, deps.contractOf(run).environment.maxRunSeconds);
      const runs = deferred.filter((d) => d.kind === 'run').length;
      if ('error' in command || runs >= MAX_RUN_CALLS_PER_TURN) {
        const error =
          'error' in command ? command.error : `Error: at most ${MAX_RUN_CALLS_PER_TURN} run calls a turn`;
        results.push(toolResult(call.id, error, true));
        continue;
      }
      deferred.push({ index: results.length, toolUseId: call.id, kind: 'run', commands: [command] });
      results.push(null);
      continue;
    }
    const output = (await answers.get(call.id)) ?? `Error: unknown tool ${call.name}`;
    results.push(toolResult(call.id, output, isErrorText(output)));
  }
  if (calls.length === 0 && reading.note) results.push({ type: 'text', text: reading.note });
  if (deferred.length > 0) {
    const environment = await sandboxEnvironmentOf(deps, run);
    const setupSeconds = environment.setup.length * environment.maxRunSeconds;
    const pending: PendingTurn = { results, calls: deferred, outcome, setupSeconds };
    // Sandbox time is reserved like a model call's tokens; a job that does not fit never runs.
    const reserved = await reserveSandbox(deps, run, conversationId, turn, pending);
    if (!reserved.ok) {
      await deps.store.appendEvent(run.runId, {
        type: 'sandbox.refused',
        actor: 'factory',
        data: { reason: 'BudgetExceeded', cause: reserved.reason },
      });
      const refusal = `not enough budget: ${reserved.reason}`;
      const outcomes = deferred.map((call) => call.commands.map(() => refusedOutcome(refusal)));
      const answered = await answerSandboxCalls(deps, run, spec, pending, outcomes);
      return recordToolResults(deps, run, spec, conversationId, turn, answered.results, answered.outcome);
    }
    return { conversationId, turn, ...(await deferToSandbox(deps, run, conversationId, turn, pending)) };
  }
  return recordToolResults(deps, run, spec, conversationId, turn, results, outcome);
}

const toolResult = (toolUseId: string, content: string, isError: boolean) => ({
  type: 'tool_result',
  tool_use_id: toolUseId,
  content,
  is_error: isError,
});

/**
 * Stores the turn's results as the next user turn, with the turns left. A stage still going after
 * its last allowed turn ends `exhausted` (the run stops with its work kept).
 */
async function recordToolResults(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  conversationId: string,
  turn: number,
  results: unknown[],
  decided: string,
): Promise<LoopPointer> {
  const budget = turnBudgetAt(turn, deps.contractOf(run).turns[spec.stage]);
  const outcome = decided === 'continue' && budget.left === 0 ? 'exhausted' : decided;
  if (outcome === 'exhausted') {
    await recordRunError(
      deps,
      run.runId,
      'TurnsExhausted',
      `${spec.stage} used all ${budget.limit} of its turns (limits.turns.${spec.stage}) without calling ${spec.terminalTool.name}`,
    );
    await deps.store.appendEvent(run.runId, {
      type: 'agent.stopped',
      actor: 'stage-runner',
      data: { stage: spec.stage, reason: 'TurnsExhausted', turn, turns: budget.used },
    });
  }
  const note =
    outcome === 'continue' || outcome === 'exhausted' ? [turnsLeftNote(budget, spec.terminalTool.name)] : [];
  const content = [...results, ...note.map((text) => ({ type: 'text', text }))];
  return putAnswerTurn(deps, run, spec, conversationId, turn, content, outcome);
}

/** Stores the user turn that answers assistant turn `turn`; the loop goes on at `turn + 2`. */
async function putAnswerTurn(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  conversationId: string,
  turn: number,
  content: unknown[],
  outcome: string,
): Promise<LoopPointer> {
  await deps.store.putTurn({
    conversationId,
    turn: turn + 1,
    runId: run.runId,
    stage: spec.stage,
    role: 'user',
    content,
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
  await recordRunError(deps, run.runId, reading.errorClass, reading.cause);
  await deps.store.appendEvent(run.runId, {
    type: 'agent.stopped',
    actor: 'stage-runner',
    data: { stage: spec.stage, reason: reading.errorClass, turn },
  });
  return putAnswerTurn(
    deps,
    run,
    spec,
    conversationId,
    turn,
    [{ type: 'text', text: reading.cause }],
    'blocked',
  );
}

/**
 * After the sandbox ran a turn's deferred calls (state `<Stage>Ran`): each `run` call gets its
 * command's result; a submission whose checks all passed is submitted again as checked, one whose
 * checks failed goes back to the model with their output, and after `checkAttempts` failed rounds
 * the stage stops (outcome `stopped`). A sandbox that could not run the checks is advice missing,
 * not a failure: the submission goes on to CI, which stays the gate.
 */
export async function finishSandboxTurn(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  conversationId: string,
  turn: number,
): Promise<LoopPointer> {
  const next = await deps.store.getTurn(conversationId, turn + 1);
  if (next) {
    await forgetSandboxSettlement(deps, run, conversationId, turn);
    return { conversationId, turn: turn + 2, outcome: next.outcome ?? 'continue' };
  }
  let pending = await pendingTurnOf(deps, run.runId, conversationId, turn);
  if (!pending) throw new Error(`turn ${turn} of ${conversationId} has no sandbox work pending`);
  if (pending.awaitingSetup) {
    // The setup function ran: its output cached, the commands go to their function; failed (every
    // command's result is the setup's) or silent, the turn is answered from what is stored.
    const setup = await setupOutcomeOf(deps, run.runId, conversationId, turn);
    pending = { ...pending, awaitingSetup: false, ...(setup?.ok ? { setupMs: setup.setupMs } : {}) };
    await storePendingTurn(deps, run.runId, conversationId, turn, pending);
    if (setup?.ok)
      return { conversationId, turn, ...(await handOver(deps, run, conversationId, turn, pending)) };
  }
  const outcomes = await sandboxOutcomes(deps, run.runId, conversationId, turn, pending);
  await settleSandbox(deps, run, spec.stage, conversationId, turn, pending, outcomes);
  const answered = await answerSandboxCalls(deps, run, spec, pending, outcomes);
  const pointer = await recordToolResults(
    deps,
    run,
    spec,
    conversationId,
    turn,
    answered.results,
    answered.outcome,
  );
  await forgetSandboxSettlement(deps, run, conversationId, turn);
  return pointer;
}

/** The deferred calls' tool results from their commands' outcomes, and the turn's outcome. */
async function answerSandboxCalls(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  pending: PendingTurn,
  outcomes: Array<Array<SandboxOutcome | undefined>>,
): Promise<{ results: unknown[]; outcome: string }> {
  const results = [...pending.results];
  let outcome = pending.outcome;
  for (const [i, call] of pending.calls.entries()) {
    const answers = outcomes[i] ?? [];
    if (call.kind === 'run') {
      const [command] = call.commands;
      const answer = answerOf(answers[0], command?.timeoutSeconds ?? 0);
      results[call.index] = toolResult(
        call.toolUseId,
        answer,
        answers[0] === undefined || answers[0].unavailable !== undefined,
      );
      continue;
    }
    const verdict = await judgeChecks(deps, run, spec, call, answers);
    if (verdict.outcome !== 'continue') outcome = verdict.outcome;
    results[call.index] = toolResult(call.toolUseId, verdict.feedback, verdict.isError);
  }
  return { results, outcome };
}
