import type { StagePorts } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';

/**
 * clarify: ask the plan's questions on the issue and wait. The wait is stored before the
 * comment is posted, so even an instant reply finds it. A reply by the issue author or a repo
 * writer resumes the run (functions/webhook); the state machine's timeout ends it TIMED_OUT.
 */
export async function awaitClarification(deps: StagePorts, runId: string, taskToken: string): Promise<void> {
  const run = await mutateRun(deps, runId, (r) => ({
    ...enterStage(r, 'clarify', deps.now(), 'AWAITING_CLARIFICATION'),
    clarifyRounds: r.clarifyRounds + 1,
  }));
  if (!run.issueNumber) {
    // A free-text task has no issue to ask on and nobody to answer: the run ends, saying what
    // the model wanted to know, so the task can be given again with the answers in it.
    const error = new Error(
      `the task needs answers before it can be planned, and a task given through the API has no issue to ask them on; start it again with the answers: ${run.questions.join(' / ')}`.slice(
        0,
        4000,
      ),
    );
    error.name = 'ClarificationNeedsAnIssue';
    throw error;
  }
  const contract = deps.contractOf(run);
  await deps.store.putWait({
    kind: 'clarify',
    // The work item's key: what a reply on the issue is matched by (canonical repo name).
    key: run.workItemKey,
    runId,
    taskToken,
    createdAt: deps.now(),
    expiresAt: Math.floor(deps.clock.now() / 1000) + contract.timeouts.clarifySeconds + 3600,
  });
  const issue = await deps.github.getIssue(deps.repoOf(run), run.issueNumber);
  const questions = run.questions.map((q, i) => `${i + 1}. ${q}`).join('\n');
  await deps.github.createComment(
    deps.repoOf(run),
    run.issueNumber,
    `@${issue.author} before I write code, I need answers to these questions (round ${run.clarifyRounds} of 3):\n\n${questions}\n\nReply on this issue; a reply from the issue author or a maintainer resumes the run.`,
  );
  await deps.store.appendEvent(runId, {
    type: 'clarify.asked',
    actor: 'stage-runner',
    data: { round: run.clarifyRounds, questions: run.questions.length },
  });
}
