import {
  type ExtractedFailures,
  extractFailures,
  failureSignature,
  MAX_FAILURES,
  renderFailures,
  renderTail,
} from '../shared/domain/ci-failures';
import { checksWaitKeyOf, type Run } from '../shared/domain/run';
import type { CheckSummary } from '../shared/ports';
import type { StagePorts } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';
import { truncate } from './tools';
import { workspaceOf } from './workspace';

/**
 * checks: wait for the repo's CI on the run's head SHA. The wait is stored first and the
 * current state read second, so a CI result that arrived before the wait existed is not lost:
 * whoever takes the wait (this stage or the webhook) resumes the execution, exactly once.
 */
export async function waitForChecks(deps: StagePorts, runId: string, taskToken: string): Promise<void> {
  const run = await mutateRun(deps, runId, (r) => ({
    ...enterStage(r, 'checks', deps.now()),
  }));
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
  if (settled || noCi) {
    const wait = await deps.store.takeWait('checks', key);
    if (wait)
      await deps.workflow.sendTaskSuccess(wait.taskToken, { sha: run.headSha, conclusion: summary.state });
  }
}

const FAILURE_LINE = /(not ok|error|fail|assert|expected|exception|cannot|undefined|timed out)/i;

/**
 * What failed, for the fix loop: `rootCause` lists the failing tests and diagnostics extracted from
 * the failed checks' output (issue 17; the lines around the first error when none is recognised),
 * `log` is the bounded tail of that output, and `signature` fingerprints the extracted failures
 * (test ids and messages, normalised of numbers, paths and times), so a repeated signature means
 * the same tests failed the same way. Only when nothing is extracted does it fall back to the
 * failed checks' names and their error-looking lines.
 */
export function summarizeFailure(summary: CheckSummary): {
  rootCause: string;
  signature: string;
  log: string;
} {
  const failed = summary.runs.filter(
    (r) => r.conclusion && r.conclusion !== 'success' && r.conclusion !== 'skipped',
  );
  const log = failed
    .map((r) => `## ${r.name}: ${r.conclusion}\n${r.summary ?? ''}\n${r.text ?? ''}`)
    .join('\n\n');
  // Each check's output on its own (its text, then its summary), so one check's heading or
  // summary is never taken for another's first error.
  const perCheck = failed.map((r) => ({
    name: r.name,
    conclusion: r.conclusion,
    ...extractFailures(`${r.text ?? ''}\n${r.summary ?? ''}`),
  }));
  const found = perCheck.flatMap((c) => c.failures);
  const firstError = perCheck.find((c) => c.firstError)?.firstError;
  const extracted: ExtractedFailures = {
    failures: found.slice(0, MAX_FAILURES),
    truncated: found.length > MAX_FAILURES || perCheck.some((c) => c.truncated),
    ...(firstError ? { firstError } : {}),
    tail: perCheck.map((c) => `## ${c.name}: ${c.conclusion}\n${c.tail}`).join('\n\n'),
  };
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => FAILURE_LINE.test(l))
    .slice(0, 20);
  const fallback = `${failed
    .map((r) => r.name)
    .sort()
    .join(',')}\n${[...lines].sort().join('\n')}`;
  const rootCause =
    extracted.failures.length > 0 || extracted.firstError
      ? renderFailures(extracted, 4000)
      : truncate(lines.join('\n') || log.split('\n').slice(-20).join('\n') || 'checks failed', 4000);
  return {
    rootCause,
    signature: failureSignature(extracted.failures, fallback),
    log: renderTail(extracted, 8000),
  };
}

export type ChecksOutcome = 'pass' | 'fix' | 'revert' | 'wait' | 'fail';

/** One resume per completed suite at most: more than this means CI never settles. */
export const MAX_CHECKS_ROUNDS = 20;

/** After CI: pass on green (or no CI), otherwise fix with the failure as feedback, or revert. */
export async function decideAfterChecks(
  deps: StagePorts,
  runId: string,
): Promise<{ outcome: ChecksOutcome }> {
  const run = (await deps.store.getRun(runId)) as Run;
  if (!run.headSha) throw new Error('run has no head SHA');
  const summary = await deps.github.getChecks(deps.repoOf(run), run.headSha);
  const contract = deps.contractOf(run);
  if (summary.state === 'pending') {
    // The first suite to complete resumed us while others still run: wait again, boundedly.
    if (run.checksRounds + 1 >= MAX_CHECKS_ROUNDS) {
      await mutateRun(deps, runId, () => ({
        error: {
          class: 'ChecksNeverSettled',
          cause: `checks were still pending after ${MAX_CHECKS_ROUNDS} rounds`,
        },
      }));
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
      ...enterStage(r, 'review', deps.now(), 'REVIEWING'),
      checksConclusion: summary.state,
      feedback: undefined,
      warnings:
        summary.state === 'none'
          ? [...r.warnings, 'no CI is configured: the change was not verified by CI']
          : r.warnings,
    }));
    return { outcome: 'pass' };
  }
  const failure = summarizeFailure(summary);
  const repeated = run.failureSignatures.includes(failure.signature);
  const outOfAttempts = run.fixAttempts >= contract.maxFixAttempts;
  await deps.store.appendEvent(runId, {
    type: 'checks.failed',
    actor: 'stage-runner',
    data: { headSha: run.headSha, signature: failure.signature, repeated, attempt: run.fixAttempts },
  });
  if (repeated || outOfAttempts) {
    await mutateRun(deps, runId, () => ({
      checksConclusion: 'failure',
      error: {
        class: repeated ? 'SameFailureRepeated' : 'FixAttemptsExhausted',
        cause: failure.rootCause,
      },
    }));
    return { outcome: 'revert' };
  }
  await mutateRun(deps, runId, (r) => ({
    checksConclusion: 'failure',
    fixAttempts: r.fixAttempts + 1,
    failureSignatures: [...r.failureSignatures, failure.signature].slice(-50),
    feedback: {
      kind: 'checks',
      text: `Root cause:\n${failure.rootCause}\n\nLog:\n${failure.log}`,
      signature: failure.signature,
    },
  }));
  return { outcome: 'fix' };
}
