import { hasBlockingFindings, parseStageResult, stageResultJsonSchema } from '../shared/domain/stage-result';
import { type AgentSpec, blockStage, type LoopPointer, runAgentTools, startAgent } from './agent';
import { type StagePorts, workOf } from './deps';
import { promptContext } from './prompt-context';
import { reviewPrompt } from './prompts';
import { enterStage, mutateRun } from '../shared/run-state';

export const reviewSpec: AgentSpec = {
  stage: 'review',
  alias: 'reviewer',
  allowWrites: false,
  maxTokens: 8000,
  terminalTool: {
    name: 'submit_review',
    description: 'Submit the review with findings. Ends the review stage.',
    input_schema: stageResultJsonSchema('review'),
  },
  async onSubmit(deps, run, input) {
    const parsed = parseStageResult('review', input);
    if (!parsed.ok)
      return { outcome: 'continue', feedback: `Invalid submission:\n${parsed.errors.join('\n')}` };
    const review = parsed.result;
    const blocking = hasBlockingFindings(review);
    const findings = review.findings
      .map(
        (f) =>
          `- **${f.severity}**${f.path ? ` \`${f.path}${f.line ? `:${f.line}` : ''}\`` : ''}: ${f.message}`,
      )
      .join('\n');
    if (run.prNumber && run.headSha) {
      await deps.github.createReview(deps.repoOf(run), run.prNumber, {
        body: `**Code Factory review${blocking ? ' (changes required)' : ''}:** ${review.summary}${findings ? `\n\n${findings}` : ''}`.slice(
          0,
          60_000,
        ),
        // The factory authored the PR, and GitHub refuses REQUEST_CHANGES on one's own PR (422):
        // blocking findings are marked in the body and fed to the fix loop instead.
        event: 'COMMENT',
        commitSha: run.headSha,
      });
    }
    await deps.store.appendEvent(run.runId, {
      type: 'review.submitted',
      actor: 'reviewer',
      data: { status: review.status, findings: review.findings.length, blocking },
    });
    if (review.status === 'BLOCKED') return blockStage(deps, run, review.blockers);
    const contract = deps.contractOf(run);
    if (blocking && run.fixAttempts < contract.maxFixAttempts) {
      await mutateRun(deps, run.runId, (r) => ({
        fixAttempts: r.fixAttempts + 1,
        reviewSummary: review.summary.slice(0, 4000),
        feedback: { kind: 'review', text: `${review.summary}\n\n${findings}`.slice(0, 20_000) },
      }));
      return { outcome: 'fix' };
    }
    await mutateRun(deps, run.runId, () => ({
      reviewSummary:
        `${review.summary}${blocking ? ' (blocking findings remain: out of fix attempts)' : ''}`.slice(
          0,
          4000,
        ),
      feedback: undefined,
    }));
    return { outcome: 'complete' };
  },
};

export async function startReview(deps: StagePorts, runId: string): Promise<LoopPointer> {
  const run = await mutateRun(deps, runId, (r) =>
    r.stage === 'review' ? undefined : enterStage(r, 'review', deps.now(), 'REVIEWING'),
  );
  const issue = await workOf(deps, run);
  return startAgent(
    deps,
    run,
    reviewSpec,
    reviewPrompt(run, issue, await promptContext(deps, run, 'review')),
  );
}

export async function reviewTools(deps: StagePorts, runId: string, conversationId: string, turn: number) {
  const run = await deps.store.getRun(runId);
  if (!run) throw new Error(`run ${runId} not found`);
  return runAgentTools(deps, run, reviewSpec, conversationId, turn);
}
