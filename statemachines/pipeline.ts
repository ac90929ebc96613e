/**
 * Source of statemachines/pipeline.asl.json (the `change` run of SPEC §2, and after `KindRoute`
 * the `review` run's path, states `ReviewPr*`, the `rescue` run's, states `RescuePr*`, and the
 * `follow-up` run's, from `ImplementStart`). The ASL repeats one
 * Lambda-task shape many times; building it here keeps every Task's timeout, retry and catch
 * identical. `npm run asl` regenerates the JSON; a test fails when the two drift apart.
 *
 * Conventions (docs/architecture.md):
 * - state data: { runId, admit, loop, step, wait, error }; stage runner results land in
 *   `$.<slot>.out` (ResultSelector {"out.$": "$.Payload"}), small pointers only;
 * - the stage runner's event is { stage: "<stage>.<step>", runId, ... }; state `PlanTools` calls
 *   stage "plan.tools" (functions/stages/plan.ts);
 * - timeouts of human and CI waits come from `$.admit.out.timeouts` (configurable per repo and
 *   short in tests), so every Task has TimeoutSeconds or TimeoutSecondsPath;
 * - every pause is a plain task-token callback: a human or CI wait (`Clarify`, `Checks`,
 *   `Approval`) invokes the stage runner with the token (stage "clarify", "checks", "approval"),
 *   an LLM turn (`PlanTurn`) sends SPEC §4's message to the LLM queue (decision 0004).
 * - an agent loop whose Tools step answers `exhausted` (out of `limits.turns`), an implement
 *   stage whose checks keep failing (`stopped`) and an LLM turn refused for the budget
 *   (`BudgetExceeded`) go to `KeepWork`, then `FinalizeStopped`.
 * - a tool call that runs code (`run`, and the checks before `submit_change`) is not run by the
 *   stage runner: `ImplementTools` answers `sandbox` (or `sandbox-online`, `sandbox-setup`) with a
 *   job, `ImplementSandbox` (`ImplementSandboxOnline`, `ImplementSetup`) runs it on that sandbox
 *   function, `ImplementRan` completes the turn (decision 0005).
 * Placeholders: ${StageRunnerFunctionArn}, ${LlmQueueUrl}, ${SandboxFunctionArn},
 * ${SandboxOnlineFunctionArn}, ${SandboxSetupFunctionArn}.
 */

import { MAX_STAGE_TURNS } from '../functions/shared/domain/turns';
import { RESCUE_REFUSALS } from '../functions/shared/domain/rescue-refusals';
import { llmTurnTask } from './llm-turn';

type State = Record<string, unknown>;

const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  // The invoke itself timed out before Lambda answered (AWS's recommended Lambda retry list).
  'Lambda.ClientExecutionTimeoutException',
];
const STAGE_RUNNER_TIMEOUT_SECONDS = 120;
/** The sandbox function's own limit is 900 s (Lambda's maximum); the task gives it a margin. */
const SANDBOX_TIMEOUT_SECONDS = 960;
/**
 * A fixed ceiling on conversation turns, behind the per-stage limit the Tools step enforces from
 * the run contract (outcome `exhausted`): assistant turns are odd, so a stage of at most
 * MAX_STAGE_TURNS model calls never asks for turn 2 × MAX_STAGE_TURNS.
 */
const MAX_AGENT_TURNS = 2 * MAX_STAGE_TURNS;

/** Shared with the copilot's state machine (ask.ts). */
export const retryTransient = [
  { ErrorEquals: LAMBDA_TRANSIENT_ERRORS, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 },
];

/** An agent loop's conversation pointer, as the stage runner answered it. */
const LOOP_POINTER = { 'conversationId.$': '$.loop.out.conversationId', 'turn.$': '$.loop.out.turn' };

const catchAll = (next = 'RecordFailure') => [
  { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: next },
];

/** Choice rules sending each value of `variable` to its state, in the order given. */
const routesOn = (variable: string, routes: Record<string, string>) =>
  Object.entries(routes).map(([value, next]) => ({ Variable: variable, StringEquals: value, Next: next }));

/** A Choice on the last step's outcome: an outcome not listed fails the run. */
const onStepOutcome = (routes: Record<string, string>, otherwise = 'FinalizeFailed'): State => ({
  Type: 'Choice',
  Choices: routesOn('$.step.out.outcome', routes),
  Default: otherwise,
});

/** A stage-runner call: `stage` is `<stage>.<step>`, extra payload fields are JSONPath refs. */
function stageTask(stage: string, slot: string, next: string, extra: Record<string, string> = {}): State {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: {
      FunctionName: '${StageRunnerFunctionArn}',
      Payload: { stage, 'runId.$': '$.runId', ...extra },
    },
    ResultSelector: { 'out.$': '$.Payload' },
    ResultPath: `$.${slot}`,
    TimeoutSeconds: STAGE_RUNNER_TIMEOUT_SECONDS,
    Retry: retryTransient,
    Catch: catchAll(),
    Next: next,
  };
}

/**
 * A human or CI wait (clarify, checks, approval): a callback task whose Lambda (stage `clarify`,
 * `checks` or `approval`) stores the token in the pending-wait item, then asks the questions,
 * reads CI or emails the approvers. A webhook or an approval link answers it; `$.wait.resume`
 * holds the answer. The token is in this task's parameters and so in the execution history, which
 * is safe because no answer is trusted for a decision (decision 0004).
 */
function waitTask(
  stage: string,
  timeoutPath: string,
  next: string,
  onTimeout: string,
  recheck?: { state: string; heartbeatPath: string; timeoutError: string },
): State {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    Parameters: {
      FunctionName: '${StageRunnerFunctionArn}',
      Payload: { stage, 'runId.$': '$.runId', 'taskToken.$': '$$.Task.Token' },
    },
    ResultSelector: { 'resume.$': '$' },
    ResultPath: '$.wait',
    TimeoutSecondsPath: timeoutPath,
    ...(recheck ? { HeartbeatSecondsPath: recheck.heartbeatPath } : {}),
    Retry: retryTransient,
    Catch: recheck
      ? [
          // Nobody answered for a while: run the stage again, which re-reads what it waits on
          // (decision 0006); the stage itself ends the wait with `timeoutError` at its deadline.
          { ErrorEquals: ['States.HeartbeatTimeout'], ResultPath: '$.wait', Next: recheck.state },
          { ErrorEquals: ['States.Timeout', recheck.timeoutError], ResultPath: '$.error', Next: onTimeout },
          ...catchAll(),
        ]
      : [
          {
            ErrorEquals: ['States.Timeout', 'States.HeartbeatTimeout'],
            ResultPath: '$.error',
            Next: onTimeout,
          },
          ...catchAll(),
        ],
    Next: next,
  };
}

/** The CI wait: a lost check_suite/workflow_run webhook costs a re-read, not the run (decision 0006). */
const checksWait = (state: string, next: string): State =>
  waitTask('checks', '$.admit.out.timeouts.checksSeconds', next, 'ChecksTimedOut', {
    state,
    heartbeatPath: '$.admit.out.timeouts.checksRecheckSeconds',
    timeoutError: 'ChecksTimedOut',
  });

/**
 * A turn's sandbox job, then `<prefix>Ran` completes the turn. The Tools step's outcome picks the
 * function (decision 0005): `sandbox` the one without network (on AWS in isolated subnets),
 * `sandbox-online` the one with (`environment.network: true`), `sandbox-setup` the setup function
 * (registry tokens, network), after which `Ran` hands the commands over. A sandbox that fails or
 * times out is caught: `Ran` answers the model that the command gave no result.
 */
export const SANDBOX_ROUTES = [
  { outcome: 'sandbox', state: 'Sandbox', arn: '${SandboxFunctionArn}' },
  { outcome: 'sandbox-online', state: 'SandboxOnline', arn: '${SandboxOnlineFunctionArn}' },
  { outcome: 'sandbox-setup', state: 'Setup', arn: '${SandboxSetupFunctionArn}' },
] as const;

function sandboxSteps(prefix: string, stage: string): Record<string, State> {
  const invoke = (arn: string): State => ({
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: arn, 'Payload.$': '$.loop.out.sandbox' },
    ResultPath: null,
    TimeoutSeconds: SANDBOX_TIMEOUT_SECONDS,
    Retry: retryTransient,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.sandboxError', Next: `${prefix}Ran` }],
    Next: `${prefix}Ran`,
  });
  return {
    ...Object.fromEntries(SANDBOX_ROUTES.map(({ state, arn }) => [`${prefix}${state}`, invoke(arn)])),
    [`${prefix}Ran`]: stageTask(`${stage}.ran`, 'loop', `${prefix}Route`, LOOP_POINTER),
  };
}

/**
 * An agent loop: Start → Turn (LLM queue) → Tools (stage runner) → Route, bounded by turns.
 * `Route` sends `done` results to the caller-supplied choices on `$.loop.out.outcome`; with
 * `sandbox`, outcome `sandbox` goes through the sandbox steps back to `Route`.
 */
function agentLoop(
  prefix: string,
  stage: string,
  modelAlias: string,
  outcomes: Record<string, string>,
  options: { startExtra?: Record<string, string>; sandbox?: boolean; stopped?: string } = {},
): Record<string, State> {
  const startExtra = options.startExtra ?? {};
  // Out of turns (limits.turns) or budget: the run stops, a change run with its work kept.
  const stopped = options.stopped ?? 'KeepWork';
  const sandboxRoutes = options.sandbox
    ? SANDBOX_ROUTES.map(({ outcome, state }) => [outcome, `${prefix}${state}`])
    : [];
  outcomes = { ...outcomes, exhausted: stopped, ...Object.fromEntries(sandboxRoutes) };
  return {
    ...(options.sandbox ? sandboxSteps(prefix, stage) : {}),
    [`${prefix}Start`]: stageTask(`${stage}.start`, 'loop', `${prefix}Turn`, startExtra),
    // A spent budget stops the run with its work kept; anything else fails it.
    [`${prefix}Turn`]: llmTurnTask({
      stage,
      modelAlias,
      runIdPath: '$.runId',
      pointer: LOOP_POINTER,
      timeout: { TimeoutSecondsPath: '$.admit.out.timeouts.llmTurnSeconds' },
      catch: [{ ErrorEquals: ['BudgetExceeded'], ResultPath: '$.error', Next: stopped }, ...catchAll()],
      next: `${prefix}Tools`,
    }),
    [`${prefix}Tools`]: stageTask(`${stage}.tools`, 'loop', `${prefix}Route`, LOOP_POINTER),
    [`${prefix}Route`]: {
      Type: 'Choice',
      Choices: [
        ...routesOn('$.loop.out.outcome', outcomes),
        {
          And: [
            { Variable: '$.loop.out.outcome', StringEquals: 'continue' },
            { Variable: '$.loop.out.turn', NumericLessThan: MAX_AGENT_TURNS },
          ],
          Next: `${prefix}Turn`,
        },
      ],
      Default: `${prefix}Exhausted`,
    },
    // The backstop: past the fixed ceiling, or an outcome this loop does not know.
    [`${prefix}Exhausted`]: {
      Type: 'Pass',
      Result: {
        Error: 'TurnsExhausted',
        Cause: `${stage}: the agent loop reached the state machine's turn ceiling`,
      },
      ResultPath: '$.error',
      Next: stopped,
    },
  };
}

/**
 * Long CI logs before a fix (checks.decide's outcome `summarize`): one `fast` turn reads them and
 * `<prefix>CiSummaryRead` adds what it said to the fix's feedback (functions/stages/ci-summary.ts).
 * A failure of either only means no summary: both go on to the fix.
 */
function ciSummarySteps(prefix: string, fix: string): Record<string, State> {
  const pointer = { 'conversationId.$': '$.step.out.conversationId', 'turn.$': '$.step.out.turn' };
  const noSummary = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.summaryError', Next: fix }];
  return {
    [`${prefix}CiSummaryTurn`]: llmTurnTask({
      stage: 'ci-summary',
      modelAlias: 'fast',
      runIdPath: '$.runId',
      pointer,
      timeout: { TimeoutSecondsPath: '$.admit.out.timeouts.llmTurnSeconds' },
      catch: noSummary,
      next: `${prefix}CiSummaryRead`,
    }),
    [`${prefix}CiSummaryRead`]: { ...stageTask('ci-summary.read', 'step', fix, pointer), Catch: noSummary },
  };
}

/** A terminal bookkeeping step: writes the final status, comments, then ends the execution. */
function finalize(status: string, end: 'Succeed' | 'Fail'): State {
  return {
    ...stageTask('finalize', 'final', end === 'Succeed' ? 'Succeeded' : 'Failed'),
    Parameters: {
      FunctionName: '${StageRunnerFunctionArn}',
      Payload: { stage: 'finalize', status, 'runId.$': '$.runId', 'error.$': '$.error' },
    },
    // A failing finalize must still end the execution in a definite state.
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.finalizeError', Next: 'Failed' }],
  };
}

export function buildPipeline(): Record<string, unknown> {
  const states: Record<string, State> = {
    // `$.error` and `$.wait` must exist on every path: later states pass them to the stage runner.
    Init: {
      Type: 'Pass',
      Parameters: { 'runId.$': '$.runId', error: null, wait: { resume: null } },
      Next: 'Admit',
    },
    Admit: stageTask('admit', 'admit', 'KindRoute'),
    // Each run kind has its own path: a change run plans; a review run reviews someone's PR; a
    // follow-up skips the plan and continues the factory's PR from implement on.
    KindRoute: {
      Type: 'Choice',
      Choices: routesOn('$.admit.out.kind', {
        review: 'ReviewPrStart',
        rescue: 'RescuePrChecks',
        // A follow-up on the factory's own PR: no plan, implement from the PR's head (admit).
        'follow-up': 'ImplementStart',
      }),
      Default: 'PlanStart',
    },
    // The rescue run: the PR's failing CI (the checks wait and the fix loop's evidence), a fix by
    // the coder on the PR's own branch, pushed on top of its head, CI again; no review, approval
    // or merge, and nothing is closed or deleted however it ends.
    RescuePrChecks: checksWait('RescuePrChecks', 'RescuePrChecksDecide'),
    RescuePrChecksDecide: stageTask('checks.decide', 'step', 'RescuePrChecksChoice'),
    RescuePrChecksChoice: onStepOutcome({
      // Green: rescued (or nothing to rescue). The PR stays open for its author and reviewers.
      pass: 'FinalizeSucceeded',
      fix: 'RescuePrStart',
      summarize: 'RescuePrCiSummaryTurn',
      // Out of attempts, or the same failure again: the final comment says what was tried.
      revert: 'FinalizeFailed',
      wait: 'RescuePrChecks',
    }),
    ...ciSummarySteps('RescuePr', 'RescuePrStart'),
    ...agentLoop(
      'RescuePr',
      'rescue-pr',
      'coder',
      { complete: 'RescuePrBoundary', blocked: 'FinalizeBlocked', stopped: 'FinalizeStopped' },
      // Nothing to keep on a draft PR: the PR is someone's, and holds what was pushed.
      { sandbox: true, stopped: 'FinalizeStopped' },
    ),
    RescuePrBoundary: stageTask('boundary', 'step', 'RescuePrBoundaryChoice'),
    RescuePrBoundaryChoice: onStepOutcome({ pass: 'RescuePrPush', retry: 'RescuePrStart' }),
    RescuePrPush: stageTask('rescue-pr.push', 'step', 'RescuePrPushed'),
    // Otherwise people kept pushing over the fix: stop, saying so (the run's error), nothing forced.
    RescuePrPushed: onStepOutcome({ pushed: 'RescuePrChecks' }, 'FinalizeStopped'),

    // The review run: read the PR's diff and the repository, post ONE review; no branch, no PR.
    ...agentLoop(
      'ReviewPr',
      'review-pr',
      'reviewer',
      {
        complete: 'FinalizeSucceeded',
        blocked: 'FinalizeBlocked',
        // A large PR is reviewed in parts, one conversation each (bounded: MAX_REVIEW_PARTS).
        next: 'ReviewPrStart',
      },
      { stopped: 'ReviewPrPartial' },
    ),
    // Out of turns or budget: a partial review still goes on the PR, saying what was not reviewed.
    ReviewPrPartial: stageTask('review-pr.partial', 'step', 'FinalizeStopped', { 'error.$': '$.error' }),

    // `$.wait.resume` carries the answer that resumed a clarification round (null on the first plan).
    ...agentLoop(
      'Plan',
      'plan',
      'planner',
      { complete: 'ImplementStart', clarify: 'Clarify', blocked: 'FinalizeBlocked' },
      { startExtra: { 'resume.$': '$.wait.resume' } },
    ),
    Clarify: waitTask('clarify', '$.admit.out.timeouts.clarifySeconds', 'PlanStart', 'FinalizeTimedOut'),

    ...agentLoop(
      'Implement',
      'implement',
      'coder',
      { complete: 'Boundary', blocked: 'FinalizeBlocked', stopped: 'KeepWork' },
      { sandbox: true },
    ),
    Boundary: stageTask('boundary', 'step', 'BoundaryRoute'),
    BoundaryRoute: onStepOutcome({ pass: 'Publish', retry: 'ImplementStart' }),
    Publish: stageTask('publish', 'step', 'Checks'),
    Checks: checksWait('Checks', 'ChecksDecide'),
    // CI that never reports ends the run with a cause people can act on, not a bare States.Timeout.
    ChecksTimedOut: {
      Type: 'Pass',
      Result: {
        Error: 'ChecksTimedOut',
        Cause: 'CI did not report a result on the pull request head before the checks timeout',
      },
      ResultPath: '$.error',
      Next: 'FinalizeFailed',
    },
    ChecksDecide: stageTask('checks.decide', 'step', 'ChecksChoice'),
    ChecksChoice: onStepOutcome({
      pass: 'ReviewStart',
      fix: 'ImplementStart',
      // Long logs: the `fast` alias summarises them first.
      summarize: 'CiSummaryTurn',
      revert: 'Revert',
      // More suites still pending: wait again (bounded by checks.decide).
      wait: 'Checks',
    }),
    ...ciSummarySteps('', 'ImplementStart'),

    ...agentLoop('Review', 'review', 'reviewer', {
      complete: 'Approval',
      fix: 'ImplementStart',
      blocked: 'FinalizeBlocked',
    }),

    // A run that stops before it finishes (out of turns or budget, checks failing) keeps its work:
    // the pending change within the contract on a draft PR with a note, then STOPPED.
    KeepWork: stageTask('keep-work', 'step', 'FinalizeStopped', { 'error.$': '$.error' }),

    Approval: waitTask('approval', '$.admit.out.timeouts.approvalSeconds', 'Merge', 'ApprovalExpired'),
    // An approval nobody gave in time reports its own class, not the engine's States.Timeout.
    ApprovalExpired: {
      Type: 'Pass',
      Result: { Error: 'ApprovalExpired', Cause: 'Nobody approved the change before the approval timeout' },
      ResultPath: '$.error',
      Next: 'FinalizeExpired',
    },
    Merge: stageTask('merge', 'step', 'FinalizeSucceeded'),
    Revert: stageTask('revert', 'step', 'FinalizeFailed'),

    RecordFailure: {
      Type: 'Choice',
      Choices: routesOn('$.error.Error', {
        Rejected: 'FinalizeRejected',
        Cancelled: 'FinalizeCancelled',
        // A rescue refused at admit (a fork, a sender who may not push): decided, not a fault.
        ...Object.fromEntries(RESCUE_REFUSALS.map((refusal) => [refusal, 'FinalizeBlocked'])),
      }),
      Default: 'FinalizeFailed',
    },
    // Only FAILED fails the execution: a run a person or the contract decided (rejected, blocked,
    // expired, unanswered, cancelled) ended as designed, so the ExecutionsFailed alarm means faults.
    FinalizeSucceeded: finalize('SUCCEEDED', 'Succeed'),
    FinalizeFailed: finalize('FAILED', 'Fail'),
    FinalizeBlocked: finalize('BLOCKED', 'Succeed'),
    FinalizeTimedOut: finalize('TIMED_OUT', 'Succeed'),
    FinalizeRejected: finalize('REJECTED', 'Succeed'),
    FinalizeExpired: finalize('EXPIRED', 'Succeed'),
    FinalizeCancelled: finalize('CANCELLED', 'Succeed'),
    FinalizeStopped: finalize('STOPPED', 'Succeed'),
    Succeeded: { Type: 'Succeed' },
    Failed: {
      Type: 'Fail',
      Error: 'RunFailed',
      Cause: 'the run failed; see the error on its run record',
    },
  };

  return {
    Comment:
      'Code Factory runs. change: admit -> plan (<-> clarify) -> implement -> boundary -> publish -> checks -> fix loop -> review -> approval -> merge. review: admit -> ReviewPr (read the PR, post one review). rescue: admit -> RescuePr (the PR CI -> fix on its branch -> push on top -> CI, bounded). follow-up: admit -> implement (from the PR head) -> ... -> approval -> merge. Generated by statemachines/pipeline.ts.',
    StartAt: 'Init',
    TimeoutSeconds: 60 * 60 * 24 * 30,
    States: states,
  };
}

/** The pipeline as committed: pretty-printed with a trailing newline. */
export const renderPipeline = (): string => `${JSON.stringify(buildPipeline(), null, 2)}\n`;
