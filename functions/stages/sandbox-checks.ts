import type { Run } from '../shared/domain/run';
import type { SandboxOutcome } from '../shared/domain/sandbox-job';
import { mutateRun, recordRunError } from '../shared/run-state';
import type { AgentSpec } from './agent';
import type { StagePorts } from './deps';
import { answerOf, type DeferredCall } from './sandbox';

/**
 * The verdict on a submission's sandbox checks (state `<Stage>Ran`): all passed (or could not
 * run) → submitted as checked; declared checks failing → back to the model, and after
 * `check_attempts` rounds the stage stops; detected checks failing → advice only.
 */
export async function judgeChecks(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  call: DeferredCall,
  answers: Array<SandboxOutcome | undefined>,
): Promise<{ outcome: string; feedback: string; isError: boolean }> {
  const contract = deps.contractOf(run);
  const ran = call.commands.map((command, j) => ({ ...command, outcome: answers[j] }));
  const unrun = ran.filter((c) => c.outcome === undefined || c.outcome.unavailable !== undefined);
  const failed = ran.filter((c) => c.outcome && !c.outcome.unavailable && c.outcome.exitCode !== 0);
  if (failed.length === 0) {
    await deps.store.appendEvent(run.runId, {
      type: unrun.length ? 'sandbox.checks-unverified' : 'sandbox.checks-passed',
      actor: 'factory',
      data: { commands: call.commands.map((c) => c.command), unrun: unrun.length },
    });
    const decision = await spec.onSubmit(deps, run, call.submitInput ?? {}, { checked: true });
    const note = unrun.length
      ? ` (environment.checks could not run here: ${unrun[0]?.outcome?.unavailable ?? 'the sandbox gave no result'}; CI will check the change)`
      : ' (environment.checks passed)';
    return {
      outcome: decision.outcome,
      feedback: (decision.feedback ?? 'submitted') + (decision.outcome === 'continue' ? '' : note),
      isError: decision.outcome === 'continue',
    };
  }
  const report = failed.map((c) => `$ ${c.command}\n${answerOf(c.outcome, c.timeoutSeconds)}`).join('\n\n');
  if (call.advisory) return adviseDetectedChecks(deps, run, spec, call, failed, report);
  const rounds = (
    await mutateRun(deps, run.runId, (current) => ({
      sandboxCheckFailures: current.sandboxCheckFailures + 1,
    }))
  ).sandboxCheckFailures;
  await deps.store.appendEvent(run.runId, {
    type: 'sandbox.checks-failed',
    actor: 'factory',
    data: { commands: failed.map((c) => c.command), round: rounds, of: contract.environment.checkAttempts },
  });
  if (rounds > contract.environment.checkAttempts) {
    await recordRunError(
      deps,
      run.runId,
      'ChecksFailing',
      `environment.checks still fail after ${contract.environment.checkAttempts} attempts to fix them:\n${report}`,
    );
    return {
      outcome: 'stopped',
      feedback: `Not submitted: environment.checks still fail.\n${report}`,
      isError: true,
    };
  }
  return {
    outcome: 'continue',
    feedback:
      `Not submitted: environment.checks failed (round ${rounds}; ` +
      `${contract.environment.checkAttempts - rounds + 1} more failing round(s) stop the run). ` +
      `Fix the change, then call ${spec.terminalTool.name} again.\n\n${report}`,
    isError: true,
  };
}

/**
 * Failing checks detected from the repository (none declared) are advice, never a gate: they may
 * fail on the untouched base for reasons the change has nothing to do with (decision 0005). The
 * first failing round of an attempt goes back to the model with the output; after that the
 * submission goes through with a note. They never count toward `check_attempts` nor stop the run.
 */
async function adviseDetectedChecks(
  deps: StagePorts,
  run: Run,
  spec: AgentSpec,
  call: DeferredCall,
  failed: Array<{ command: string }>,
  report: string,
): Promise<{ outcome: string; feedback: string; isError: boolean }> {
  const rounds = (
    await mutateRun(deps, run.runId, (current) => ({
      detectedCheckFailures: current.detectedCheckFailures + 1,
    }))
  ).detectedCheckFailures;
  await deps.store.appendEvent(run.runId, {
    type: 'sandbox.checks-failed',
    actor: 'factory',
    data: { commands: failed.map((c) => c.command), round: rounds, detected: true },
  });
  if (rounds === 1)
    return {
      outcome: 'continue',
      feedback:
        'Not submitted yet: checks detected from the repository (it declares no environment.checks) ' +
        'failed. They are advice and may already fail without your change: fix the change if it ' +
        `caused the failure, then call ${spec.terminalTool.name} again; the next submission goes ` +
        `through whatever they answer.\n\n${report}`,
      isError: true,
    };
  const decision = await spec.onSubmit(deps, run, call.submitInput ?? {}, { checked: true });
  return {
    outcome: decision.outcome,
    feedback:
      (decision.feedback ?? 'submitted') +
      (decision.outcome === 'continue' ? '' : ' (detected checks still fail; CI will check the change)'),
    isError: decision.outcome === 'continue',
  };
}
