/**
 * Source of statemachines/pipeline.asl.json (the `change` run of SPEC §2). The ASL repeats one
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
 * - a human or CI wait (`Clarify`, `Checks`, `Approval`) is a Parallel of `<Name>Wait`, an
 *   activity task, and `<Name>Claim`, stage "wait.claim" (functions/stages/wait.ts); an LLM turn
 *   (`PlanTurn`) of `PlanTurnWait` and `PlanTurnSend`, stage "turn.send" (turn-send.ts).
 * Placeholders: ${StageRunnerFunctionArn}, ${WaitActivityArn}, ${LlmTurnActivityArn}.
 */

type State = Record<string, unknown>;

const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
const STAGE_RUNNER_TIMEOUT_SECONDS = 120;
const MAX_AGENT_TURNS = 40;

const retryTransient = [
  { ErrorEquals: LAMBDA_TRANSIENT_ERRORS, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2 },
];

const catchAll = (next = 'RecordFailure') => [
  { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: next },
];

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
 * An activity task and its claim, side by side: the token-free way to pause on a task token.
 * `<name>Wait` is a task on `activity`, scheduled with `taskInput` (plus the run id and the
 * entry's id, a UUID); `<name><claimName>` (`ApprovalClaim`, `PlanTurnSend`: stage `claimStage`)
 * has the stage runner take scheduled tasks with GetActivityTask until this one is taken, and act
 * on each with the token in hand (functions/stages/activity-claim.ts). A callback's `$$.Task.Token` would be in
 * the task's parameters and so in the execution history; an activity's token is handed to the
 * worker alone (decision 0004). A claim that fails (its own timeout included) ends in `failError`
 * inside its branch, so the Parallel never reports it as the task's own timeout.
 */
function claimedActivity(spec: {
  name: string;
  claimName: string;
  activity: string;
  idField: string;
  claimStage: string;
  /** Fields of the activity task's input, JSONPath refs into the Parallel's Parameters. */
  taskInput: Record<string, string | number>;
  /** Extra fields of the claim's event. */
  claimPayload: Record<string, string>;
  /** The Parallel's Parameters besides runId, the id and timeoutSeconds. */
  carried: Record<string, string>;
  timeoutPath: string;
  /** The Fail state `<name><failName>` and its error. */
  failName: string;
  failError: string;
  rest: Record<string, unknown>;
}): State {
  const { name, claimName } = spec;
  return {
    Type: 'Parallel',
    Parameters: {
      'runId.$': '$.runId',
      [`${spec.idField}.$`]: 'States.UUID()',
      'timeoutSeconds.$': spec.timeoutPath,
      ...spec.carried,
    },
    Branches: [
      {
        StartAt: `${name}Wait`,
        States: {
          [`${name}Wait`]: {
            Type: 'Task',
            Resource: spec.activity,
            Parameters: {
              ...spec.taskInput,
              'runId.$': '$.runId',
              [`${spec.idField}.$`]: `$.${spec.idField}`,
            },
            TimeoutSecondsPath: '$.timeoutSeconds',
            End: true,
          },
        },
      },
      {
        StartAt: `${name}${claimName}`,
        States: {
          [`${name}${claimName}`]: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: {
              FunctionName: '${StageRunnerFunctionArn}',
              Payload: {
                stage: spec.claimStage,
                ...spec.claimPayload,
                'runId.$': '$.runId',
                [`${spec.idField}.$`]: `$.${spec.idField}`,
              },
            },
            ResultSelector: { 'handled.$': '$.Payload' },
            TimeoutSeconds: STAGE_RUNNER_TIMEOUT_SECONDS,
            Retry: retryTransient,
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$', Next: `${name}${spec.failName}` }],
            End: true,
          },
          [`${name}${spec.failName}`]: { Type: 'Fail', Error: spec.failError, CausePath: '$.Cause' },
        },
      },
    ],
    ...spec.rest,
  };
}

/**
 * A human or CI wait (clarify, checks, approval): opened by `wait.claim` (functions/stages/wait.ts:
 * ask the questions, read CI, email the approvers), answered by a webhook or an approval link.
 * `waitId` tells this wait from earlier ones of the same run; `$.wait.resume` holds the answer.
 * Its timeout (from when it is taken) ends the run with the wait's own status.
 */
function waitTask(stage: string, name: string, timeoutPath: string, next: string, onTimeout: string): State {
  return claimedActivity({
    name,
    claimName: 'Claim',
    activity: '${WaitActivityArn}',
    idField: 'waitId',
    claimStage: 'wait.claim',
    taskInput: { stage },
    claimPayload: { wait: stage },
    carried: {},
    timeoutPath,
    failName: 'NotOpened',
    failError: 'WaitNotOpened',
    rest: {
      ResultSelector: { 'resume.$': '$[0]' },
      ResultPath: '$.wait',
      Catch: [
        {
          ErrorEquals: ['States.Timeout', 'States.HeartbeatTimeout'],
          ResultPath: '$.error',
          Next: onTimeout,
        },
        ...catchAll(),
      ],
      Next: next,
    },
  });
}

/**
 * An agent loop: Start → Turn (LLM queue) → Tools (stage runner) → Route, bounded by turns.
 * `Route` sends `done` results to the caller-supplied choices on `$.loop.out.outcome`.
 */
function agentLoop(
  prefix: string,
  stage: string,
  modelAlias: string,
  outcomes: Array<{ outcome: string; next: string }>,
  startExtra: Record<string, string> = {},
): Record<string, State> {
  return {
    [`${prefix}Start`]: stageTask(`${stage}.start`, 'loop', `${prefix}Turn`, startExtra),
    // One model turn: the LLM worker answers it (SPEC §4); `turn.send` puts it on the LLM queue
    // with its token (functions/stages/turn-send.ts). The answer is only a signal: `<prefix>Tools`
    // reads the assistant turn the worker stored at the turn the loop expects, so a forged
    // SendTaskSuccess cannot put words in the model's mouth.
    [`${prefix}Turn`]: claimedActivity({
      name: `${prefix}Turn`,
      claimName: 'Send',
      activity: '${LlmTurnActivityArn}',
      idField: 'turnId',
      claimStage: 'turn.send',
      taskInput: {
        stage,
        modelAlias,
        'conversationId.$': '$.conversationId',
        'turn.$': '$.turn',
      },
      claimPayload: { 'conversationId.$': '$.conversationId', 'turn.$': '$.turn' },
      carried: { 'conversationId.$': '$.loop.out.conversationId', 'turn.$': '$.loop.out.turn' },
      timeoutPath: '$.admit.out.timeouts.llmTurnSeconds',
      failName: 'NotSent',
      failError: 'TurnNotSent',
      rest: { ResultPath: null, Catch: catchAll(), Next: `${prefix}Tools` },
    }),
    [`${prefix}Tools`]: stageTask(`${stage}.tools`, 'loop', `${prefix}Route`, {
      'conversationId.$': '$.loop.out.conversationId',
      'turn.$': '$.loop.out.turn',
    }),
    [`${prefix}Route`]: {
      Type: 'Choice',
      Choices: [
        ...outcomes.map(({ outcome, next }) => ({
          Variable: '$.loop.out.outcome',
          StringEquals: outcome,
          Next: next,
        })),
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
    [`${prefix}Exhausted`]: {
      Type: 'Pass',
      Result: { Error: 'TurnsExhausted', Cause: `${stage}: the agent loop ran out of turns` },
      ResultPath: '$.error',
      Next: 'RecordFailure',
    },
  };
}

/** A terminal bookkeeping step: writes the final status, comments, then ends the execution. */
function finalize(name: string, status: string, end: 'Succeed' | 'Fail'): Record<string, State> {
  return {
    [name]: {
      ...stageTask('finalize', 'final', end === 'Succeed' ? 'Succeeded' : 'Failed', {
        'error.$': '$.error',
      }),
      Parameters: {
        FunctionName: '${StageRunnerFunctionArn}',
        Payload: { stage: 'finalize', status, 'runId.$': '$.runId', 'error.$': '$.error' },
      },
      // A failing finalize must still end the execution in a definite state.
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.finalizeError', Next: 'Failed' }],
    },
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
    Admit: stageTask('admit', 'admit', 'PlanStart'),

    // `$.wait.resume` carries the answer that resumed a clarification round (null on the first plan).
    ...agentLoop(
      'Plan',
      'plan',
      'planner',
      [
        { outcome: 'complete', next: 'ImplementStart' },
        { outcome: 'clarify', next: 'Clarify' },
        { outcome: 'blocked', next: 'FinalizeBlocked' },
      ],
      { 'resume.$': '$.wait.resume' },
    ),
    Clarify: waitTask(
      'clarify',
      'Clarify',
      '$.admit.out.timeouts.clarifySeconds',
      'PlanStart',
      'FinalizeTimedOut',
    ),

    ...agentLoop('Implement', 'implement', 'coder', [
      { outcome: 'complete', next: 'Boundary' },
      { outcome: 'blocked', next: 'FinalizeBlocked' },
    ]),
    Boundary: stageTask('boundary', 'step', 'BoundaryRoute'),
    BoundaryRoute: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.step.out.outcome', StringEquals: 'pass', Next: 'Publish' },
        { Variable: '$.step.out.outcome', StringEquals: 'retry', Next: 'ImplementStart' },
      ],
      Default: 'FinalizeFailed',
    },
    Publish: stageTask('publish', 'step', 'Checks'),
    Checks: waitTask(
      'checks',
      'Checks',
      '$.admit.out.timeouts.checksSeconds',
      'ChecksDecide',
      'ChecksTimedOut',
    ),
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
    ChecksChoice: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.step.out.outcome', StringEquals: 'pass', Next: 'ReviewStart' },
        { Variable: '$.step.out.outcome', StringEquals: 'fix', Next: 'ImplementStart' },
        { Variable: '$.step.out.outcome', StringEquals: 'revert', Next: 'Revert' },
        // More suites still pending: wait again (bounded by checks.decide).
        { Variable: '$.step.out.outcome', StringEquals: 'wait', Next: 'Checks' },
      ],
      Default: 'FinalizeFailed',
    },

    ...agentLoop('Review', 'review', 'reviewer', [
      { outcome: 'complete', next: 'Approval' },
      { outcome: 'fix', next: 'ImplementStart' },
      { outcome: 'blocked', next: 'FinalizeBlocked' },
    ]),

    Approval: waitTask(
      'approval',
      'Approval',
      '$.admit.out.timeouts.approvalSeconds',
      'Merge',
      'FinalizeExpired',
    ),
    Merge: stageTask('merge', 'step', 'FinalizeSucceeded'),
    Revert: stageTask('revert', 'step', 'FinalizeFailed'),

    RecordFailure: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.error.Error', StringEquals: 'Rejected', Next: 'FinalizeRejected' },
        { Variable: '$.error.Error', StringEquals: 'Cancelled', Next: 'FinalizeCancelled' },
      ],
      Default: 'FinalizeFailed',
    },
    // Only FAILED fails the execution: a run a person or the contract decided (rejected, blocked,
    // expired, unanswered, cancelled) ended as designed, so the ExecutionsFailed alarm means faults.
    ...finalize('FinalizeSucceeded', 'SUCCEEDED', 'Succeed'),
    ...finalize('FinalizeFailed', 'FAILED', 'Fail'),
    ...finalize('FinalizeBlocked', 'BLOCKED', 'Succeed'),
    ...finalize('FinalizeTimedOut', 'TIMED_OUT', 'Succeed'),
    ...finalize('FinalizeRejected', 'REJECTED', 'Succeed'),
    ...finalize('FinalizeExpired', 'EXPIRED', 'Succeed'),
    ...finalize('FinalizeCancelled', 'CANCELLED', 'Succeed'),
    Succeeded: { Type: 'Succeed' },
    Failed: {
      Type: 'Fail',
      Error: 'RunFailed',
      Cause: 'the run failed; see the error on its run record',
    },
  };

  return {
    Comment:
      'Code Factory change run: admit -> plan (<-> clarify) -> implement -> boundary -> publish -> checks -> fix loop -> review -> approval -> merge. Generated by statemachines/pipeline.ts.',
    StartAt: 'Init',
    TimeoutSeconds: 60 * 60 * 24 * 30,
    States: states,
  };
}

/** The pipeline as committed: pretty-printed with a trailing newline. */
export const renderPipeline = (): string => `${JSON.stringify(buildPipeline(), null, 2)}\n`;
