import { parseStageResult, stageResultJsonSchema } from '../shared/domain/stage-result';
import {
  type AgentSpec,
  blockStage,
  finishSandboxTurn,
  type LoopPointer,
  runAgentTools,
  startAgent,
} from './agent';
import { type StagePorts, workOf } from './deps';
import { promptContext } from './prompt-context';
import { sandboxEnvironmentOf } from './sandbox-environment';
import { implementPrompt } from './prompts';
import { enterStage, mutateRun } from '../shared/run-state';

export const implementSpec: AgentSpec = {
  stage: 'implement',
  alias: 'coder',
  allowWrites: true,
  sandbox: true,
  maxTokens: 16000,
  terminalTool: {
    name: 'submit_change',
    description: 'Submit the change in the workspace with a summary and a commit message. Ends the stage.',
    input_schema: stageResultJsonSchema('implement'),
  },
  async onSubmit(deps, run, input, { checked }) {
    const parsed = parseStageResult('implement', input);
    if (!parsed.ok)
      return { outcome: 'continue', feedback: `Invalid submission:\n${parsed.errors.join('\n')}` };
    const change = parsed.result;
    if (change.status === 'NEEDS_CLARIFICATION') {
      return {
        outcome: 'continue',
        feedback:
          'Questions are settled in planning. Make a reasonable, stated assumption and finish the change, or submit BLOCKED with blockers.',
      };
    }
    if (change.status === 'COMPLETE' && !checked) {
      const environment = await sandboxEnvironmentOf(deps, run);
      if (environment.checks.length > 0)
        return { outcome: 'continue', checks: environment.checks, advisory: environment.detected };
    }
    await deps.store.appendEvent(run.runId, {
      type: 'change.submitted',
      actor: 'coder',
      data: { status: change.status, attempt: run.fixAttempts },
    });
    if (change.status === 'BLOCKED') return blockStage(deps, run, change.blockers);
    await mutateRun(deps, run.runId, () => ({ commitMessage: change.commit_message.slice(0, 5000) }));
    return { outcome: 'complete' };
  },
};

/** First attempt, or fix mode: `run.feedback` (boundary, checks or review) goes into the prompt. */
export async function startImplement(deps: StagePorts, runId: string): Promise<LoopPointer> {
  const run = await mutateRun(deps, runId, (r) => ({
    ...enterStage(r, 'implement', deps.now(), 'IMPLEMENTING'),
    sandboxCheckFailures: 0,
    detectedCheckFailures: 0,
  }));
  const issue = await workOf(deps, run);
  const context = await promptContext(deps, run, 'implement');
  return startAgent(deps, run, implementSpec, implementPrompt(run, issue, deps.contractOf(run), context));
}

/** After the sandbox ran the turn's commands (state `ImplementRan`). */
export async function implementRan(deps: StagePorts, runId: string, conversationId: string, turn: number) {
  const run = await deps.store.getRun(runId);
  if (!run) throw new Error(`run ${runId} not found`);
  return finishSandboxTurn(deps, run, implementSpec, conversationId, turn);
}

export async function implementTools(deps: StagePorts, runId: string, conversationId: string, turn: number) {
  const run = await deps.store.getRun(runId);
  if (!run) throw new Error(`run ${runId} not found`);
  return runAgentTools(deps, run, implementSpec, conversationId, turn);
}
