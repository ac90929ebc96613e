import { WRITERS } from '../shared/domain/permission';
import type { Run } from '../shared/domain/run';
import { FactoryError } from '../shared/errors';
import { parseStageResult, stageResultJsonSchema } from '../shared/domain/stage-result';
import { type AgentSpec, type LoopPointer, runAgentTools, startAgent } from './agent';
import { updateStatusComment } from './comments';
import { type StagePorts, workOf } from './deps';
import { promptContext } from './prompt-context';
import { planPrompt } from './prompts';
import { redactText } from './redaction';
import { enterStage, mutateRun, recordRunError } from '../shared/run-state';

export const MAX_CLARIFY_ROUNDS = 3;

export const planSpec: AgentSpec = {
  stage: 'plan',
  alias: 'planner',
  allowWrites: false,
  maxTokens: 8000,
  terminalTool: {
    name: 'submit_plan',
    description:
      'Submit the plan (or questions, or blockers). Ends the planning stage. COMPLETE needs acceptance_criteria, files_to_touch and a test_plan; NEEDS_CLARIFICATION needs questions; BLOCKED needs blockers.',
    input_schema: stageResultJsonSchema('plan'),
  },
  async onSubmit(deps, run, input) {
    const parsed = parseStageResult('plan', input);
    if (!parsed.ok)
      return { outcome: 'continue', feedback: `Invalid submission:\n${parsed.errors.join('\n')}` };
    const plan = parsed.result;
    await deps.store.appendEvent(run.runId, {
      type: 'plan.submitted',
      actor: 'planner',
      data: {
        status: plan.status,
        files: plan.files_to_touch.length,
        criteria: plan.acceptance_criteria.length,
      },
    });
    if (plan.status === 'COMPLETE') {
      const criteria = plan.acceptance_criteria.map((c) => `\n- ${c}`).join('');
      const updated = await mutateRun(deps, run.runId, () => ({
        planSummary: `${plan.summary}${criteria ? `\nAcceptance criteria:${criteria}` : ''}`.slice(0, 4000),
        plan: { files: plan.files_to_touch, testPlan: plan.test_plan, risks: plan.risks },
        questions: [],
      }));
      await updateStatusComment(deps, updated);
      return { outcome: 'complete' };
    }
    if (plan.status === 'NEEDS_CLARIFICATION' && run.clarifyRounds < MAX_CLARIFY_ROUNDS) {
      await mutateRun(deps, run.runId, () => ({ questions: plan.questions.slice(0, 20) }));
      return { outcome: 'clarify' };
    }
    const cause =
      plan.status === 'BLOCKED'
        ? plan.blockers.map((b) => `- ${b}`).join('\n')
        : `still unclear after ${MAX_CLARIFY_ROUNDS} rounds of questions:\n${plan.questions.map((q) => `- ${q}`).join('\n')}`;
    await recordRunError(
      deps,
      run.runId,
      plan.status === 'BLOCKED' ? 'Blocked' : 'ClarificationLimit',
      cause,
    );
    return { outcome: 'blocked' };
  },
};

/** A clarification round resumes with a pointer to the reply that answered it. */
interface Resume {
  answer?: { commentId?: number };
}

/** The answer that resumed a clarification is not a reply this run may take. */
export class ClarificationRefused extends FactoryError {
  constructor(reason: string) {
    super('ClarificationRefused', `the clarification was resumed without a valid answer: ${reason}`);
  }
}

/**
 * The reply a clarification round resumed with, checked again here: the wait's token can be
 * answered by anyone allowed to call SendTaskSuccess, so the comment must be on the run's issue
 * and written by the issue's author or a repository writer (decision 0004).
 */
async function verifiedAnswer(deps: StagePorts, run: Run, resume: unknown): Promise<string | undefined> {
  if (run.status !== 'AWAITING_CLARIFICATION') return undefined;
  const commentId = (resume as Resume | null)?.answer?.commentId;
  try {
    return await checkedAnswer(deps, run, commentId);
  } catch (error) {
    if (error instanceof ClarificationRefused)
      await deps.store.appendEvent(run.runId, {
        type: 'clarify.refused',
        actor: 'stage-runner',
        data: { commentId: typeof commentId === 'number' ? commentId : null, reason: error.message },
      });
    throw error;
  }
}

async function checkedAnswer(deps: StagePorts, run: Run, commentId: unknown): Promise<string> {
  if (typeof commentId !== 'number' || !Number.isInteger(commentId) || commentId <= 0)
    throw new ClarificationRefused('it names no reply on the issue');
  const repo = deps.repoOf(run);
  const comment = await deps.github.getComment(repo, commentId);
  if (!run.issueNumber || comment.issueNumber !== run.issueNumber)
    throw new ClarificationRefused(`comment ${commentId} is not on issue #${run.issueNumber}`);
  const issue = await workOf(deps, run);
  if (comment.author.toLowerCase() === deps.settings.botLogin.toLowerCase())
    throw new ClarificationRefused(`comment ${commentId} is the factory's own`);
  const isAuthor = comment.author.toLowerCase() === issue.author.toLowerCase();
  if (!isAuthor && !WRITERS.has(await deps.github.getPermission(repo, comment.author)))
    throw new ClarificationRefused(`@${comment.author} is neither the issue's author nor a writer`);
  // Who answered, when, and where: the comment, not its text (the text goes to the run, redacted).
  await deps.store.appendEvent(run.runId, {
    type: 'clarify.answered',
    actor: comment.author,
    data: { commentId, issue: run.issueNumber, as: isAuthor ? 'issue author' : 'writer' },
  });
  // Redacted before it is stored on the run and shown to the model.
  const { body } = await redactText(deps, run, 'comment', { body: comment.body });
  return `@${comment.author}: ${body ?? ''}`.slice(0, 8000);
}

export async function startPlan(deps: StagePorts, runId: string, resume: unknown): Promise<LoopPointer> {
  let run = await deps.store.getRun(runId);
  if (!run) throw new Error(`run ${runId} not found`);
  const answer = await verifiedAnswer(deps, run, resume);
  run = await mutateRun(deps, runId, (r) => ({
    ...enterStage(r, 'plan', deps.now(), 'PLANNING'),
    ...(answer ? { answers: [...r.answers, answer].slice(-3) } : {}),
  }));
  const issue = await workOf(deps, run);
  const context = await promptContext(deps, run, 'plan');
  return startAgent(deps, run, planSpec, planPrompt(run, issue, deps.contractOf(run), run.answers, context));
}

export async function planTools(deps: StagePorts, runId: string, conversationId: string, turn: number) {
  const run = await deps.store.getRun(runId);
  if (!run) throw new Error(`run ${runId} not found`);
  return runAgentTools(deps, run, planSpec, conversationId, turn);
}
