import { checksWaitKeyOf, type Run, type StageRecord } from '../shared/domain/run';
import { enterStage, mutateRun, recordRunError } from '../shared/run-state';
import { keepLogs, summarizeFailure } from './ci-evidence';
import { evidenceChars, startCiSummary } from './ci-summary';
import type { StagePorts } from './deps';
import { workspaceOf } from './workspace';

/** The checks stage this run is in, when it is still open (a wait that goes on). */
function openChecksStage(run: Run): StageRecord | undefined {
  const last = run.stages.at(-1);
  return run.stage === 'checks' && last?.name === 'checks' && !last.endedAt ? last : undefined;
}

/**
 * checks: wait for the repo's CI on the run's head SHA. The wait is stored first and the
 * current state read second, so a CI result that arrived before the wait existed is not lost:
 * whoever takes the wait (this stage or the webhook) resumes the execution, exactly once.
 *
 * The state runs this again when nobody answered for `checksRecheckSeconds` (the task's heartbeat
 * timeout) and after a suite completed while others still ran: the same wait goes on, with a new
 * token, and the re-read finds a result whose webhook was lost (GitHub never redelivers on its
 * own; decision 0006). The wait ends ChecksTimedOut `checksSeconds` after it began.
 */
export async function waitForChecks(deps: StagePorts, runId: string, taskToken: string): Promise<void> {
  let goesOn = false;
  const run = await mutateRun(deps, runId, (r) => {
    goesOn = openChecksStage(r) !== undefined;
    return goesOn ? undefined : enterStage(r, 'checks', deps.now());
  });
  if (!run.headSha) throw new Error('run has no head SHA to check');
  const repo = deps.repoOf(run);
  const contract = deps.contractOf(run);
  const key = checksWaitKeyOf(run.repo, run.headSha);
  await deps.store.putWait({
    kind: 'checks',
    key,
    runId,
    taskToken,
    createdAt: deps.now(),
    expiresAt: Math.floor(deps.clock.now() / 1000) + contract.timeouts.checksSeconds + 3600,
  });
  const summary = await deps.github.getChecks(repo, run.headSha);
  const settled = summary.state === 'success' || summary.state === 'failure';
  // "No CI" only when nothing reported and nothing is configured (workflows read from the snapshot).
  const noCi =
    summary.state === 'none' &&
    contract.requiredChecks.length === 0 &&
    !(await (await workspaceOf(deps, run)).base.index()).paths.some((p) =>
      p.startsWith('.github/workflows/'),
    );
  const since = Date.parse(openChecksStage(run)?.startedAt ?? deps.now());
  const waitedSeconds = Math.max(0, Math.round((deps.clock.now() - since) / 1000));
  if (settled || noCi) {
    const wait = await deps.store.takeWait('checks', key);
    if (!wait) return;
    await deps.workflow.sendTaskSuccess(wait.taskToken, { sha: run.headSha, conclusion: summary.state });
    if (goesOn)
      await deps.store.appendEvent(runId, {
        type: 'checks.reread',
        actor: 'stage-runner',
        data: { headSha: run.headSha, state: summary.state, waitedSeconds },
      });
    return;
  }
  if (goesOn && waitedSeconds >= contract.timeouts.checksSeconds) {
    const wait = await deps.store.takeWait('checks', key);
    if (wait)
      await deps.workflow.sendTaskFailure(
        wait.taskToken,
        'ChecksTimedOut',
        `CI reported no result on ${run.headSha} within ${contract.timeouts.checksSeconds} s`,
      );
  }
}

export type ChecksOutcome = 'pass' | 'fix' | 'summarize' | 'revert' | 'wait' | 'fail';

/** One resume per completed suite at most: more than this means CI never settles. */
export const MAX_CHECKS_ROUNDS = 20;

/**
 * After CI: pass on green (or no CI), otherwise fix with the failure as feedback, or revert (a
 * rescue's first read is of the PR's own failure: its fix is attempt 1). A failure with long logs
 * is summarised by the `fast` alias first (outcome `summarize`, with the conversation to answer).
 */
export async function decideAfterChecks(
  deps: StagePorts,
  runId: string,
): Promise<{ outcome: ChecksOutcome; conversationId?: string; turn?: number }> {
  const run = (await deps.store.getRun(runId)) as Run;
  if (!run.headSha) throw new Error('run has no head SHA');
  const summary = await deps.github.getChecks(deps.repoOf(run), run.headSha);
  const contract = deps.contractOf(run);
  if (summary.state === 'pending') {
    // The first suite to complete resumed us while others still run: wait again, boundedly.
    if (run.checksRounds + 1 >= MAX_CHECKS_ROUNDS) {
      await recordRunError(
        deps,
        runId,
        'ChecksNeverSettled',
        `checks were still pending after ${MAX_CHECKS_ROUNDS} rounds`,
      );
      return { outcome: 'fail' };
    }
    await mutateRun(deps, runId, (r) => ({ checksRounds: r.checksRounds + 1 }));
    // What CI says decides, not what resumed the wait (decision 0004).
    await deps.store.appendEvent(runId, {
      type: 'checks.still-pending',
      actor: 'stage-runner',
      data: { headSha: run.headSha, round: run.checksRounds + 1 },
    });
    return { outcome: 'wait' };
  }
  if (summary.state === 'success' || summary.state === 'none') {
    await mutateRun(deps, runId, (r) => ({
      // A rescue ends here, green: no review or approval of someone's PR.
      ...(r.kind === 'rescue' ? {} : enterStage(r, 'review', deps.now(), 'REVIEWING')),
      checksConclusion: summary.state,
      feedback: undefined,
      warnings:
        summary.state === 'none'
          ? [...r.warnings, 'no CI is configured: the change was not verified by CI']
          : r.warnings,
    }));
    return { outcome: 'pass' };
  }
  // A retried step (Lambda ran it, the task did not hear back): this wait's failure is decided. A
  // later wait on the same head (a fix that changed nothing) is a new decision: the same failure.
  const wait = run.stages.at(-1)?.name === 'checks' ? run.stages.at(-1)?.startedAt : undefined;
  if (wait && run.feedback?.kind === 'checks' && run.feedback.checksWait === wait) return { outcome: 'fix' };
  const failure = summarizeFailure(summary);
  const logs = await keepLogs(deps, runId, run.headSha, summary);
  const repeated = run.failureSignatures.includes(failure.signature);
  const outOfAttempts = run.fixAttempts >= contract.maxFixAttempts;
  await deps.store.appendEvent(runId, {
    type: 'checks.failed',
    actor: 'stage-runner',
    data: {
      headSha: run.headSha,
      signature: failure.signature,
      repeated,
      attempt: run.fixAttempts,
      // The full logs, by reference (workspaces bucket, expiring with it).
      logs: logs.map((l) => ({ check: l.check, key: l.key, chars: l.chars })),
    },
  });
  if (repeated || outOfAttempts) {
    await mutateRun(deps, runId, (r) => ({
      checksConclusion: 'failure',
      // The last failure's summary stays only when this is the same failure (status comment).
      feedback: repeated ? r.feedback : undefined,
      error: {
        class: repeated ? 'SameFailureRepeated' : 'FixAttemptsExhausted',
        cause: failure.rootCause,
      },
    }));
    return { outcome: 'revert' };
  }
  const fixing = await mutateRun(deps, runId, (r) => ({
    checksConclusion: 'failure',
    fixAttempts: r.fixAttempts + 1,
    failureSignatures: [...r.failureSignatures, failure.signature].slice(-50),
    feedback: {
      kind: 'checks',
      text: `Root cause:\n${failure.rootCause}\n\nFailed checks:\n${failure.checks}\n\nLog:\n${failure.log}`,
      signature: failure.signature,
      ...(wait ? { checksWait: wait } : {}),
      ...(logs.length > 0 ? { logKeys: logs.map((l) => l.key) } : {}),
    },
  }));
  const threshold = contract.ciLogSummaryChars;
  if (threshold > 0 && evidenceChars(summary) > threshold) {
    const conversation = await startCiSummary(deps, fixing, summary, failure);
    if (conversation) return { outcome: 'summarize', ...conversation };
  }
  return { outcome: 'fix' };
}
