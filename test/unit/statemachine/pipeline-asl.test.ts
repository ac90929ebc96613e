import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { renderPipeline } from '../../../statemachines/pipeline';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: Array<{ message?: string }>;
};

const text = readFileSync(new URL('../../../statemachines/pipeline.asl.json', import.meta.url), 'utf8');
const asl = JSON.parse(text) as { StartAt: string; States: Record<string, Record<string, unknown>> };
const states = asl.States;

type AslState = Record<string, unknown>;
/** `${Name}` as the ASL file spells a CDK substitution. */
const placeholder = (name: string) => `$\{${name}}`;
/** Every state, those inside Parallel branches included. */
function everyState(from: Record<string, AslState> = states): Array<[string, AslState]> {
  return Object.entries(from).flatMap(([name, state]) => [
    [name, state] as [string, AslState],
    ...((state.Branches as Array<{ States: Record<string, AslState> }> | undefined) ?? []).flatMap((b) =>
      everyState(b.States),
    ),
  ]);
}

const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Every state a state can go to next: Next, Default, Choices, Catch. */
function successors(state: Record<string, unknown>): string[] {
  const next: string[] = [];
  if (typeof state.Next === 'string') next.push(state.Next);
  if (typeof state.Default === 'string') next.push(state.Default);
  for (const choice of (state.Choices as Array<{ Next: string }> | undefined) ?? []) next.push(choice.Next);
  for (const c of (state.Catch as Array<{ Next: string }> | undefined) ?? []) next.push(c.Next);
  return next;
}
const isTerminal = (s: Record<string, unknown>) =>
  s.Type === 'Succeed' || s.Type === 'Fail' || s.End === true;

describe('statemachines/pipeline.asl.json', () => {
  it('is what statemachines/pipeline.ts generates (run `npm run asl` after editing it)', () => {
    expect(text).toBe(renderPipeline());
  });

  it('passes asl-validator', () => {
    const result = aslValidator(asl);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('uses JSONPath only (the embedded engine ignores JSONata silently)', () => {
    expect(text).not.toMatch(/JSONata/);
  });

  it('gives every Task a timeout', () => {
    for (const [name, s] of everyState()) {
      if (s.Type !== 'Task') continue;
      const has = typeof s.TimeoutSeconds === 'number' || typeof s.TimeoutSecondsPath === 'string';
      expect(has, `${name} has no TimeoutSeconds`).toBe(true);
    }
  });

  it("retries AWS's transient Lambda errors on every Lambda task", () => {
    const lambdaTasks = everyState().filter(([, s]) => String(s.Resource).includes(':lambda:invoke'));
    expect(lambdaTasks.length).toBeGreaterThan(10);
    for (const [name, s] of lambdaTasks) {
      const retried = ((s.Retry as Array<{ ErrorEquals: string[] }>) ?? []).flatMap((r) => r.ErrorEquals);
      for (const error of LAMBDA_TRANSIENT)
        expect(retried, `${name} does not retry ${error}`).toContain(error);
    }
  });

  it('catches every error on every Task and Parallel (a branch fails its Parallel)', () => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type !== 'Task' && s.Type !== 'Parallel') continue;
      const caught = ((s.Catch as Array<{ ErrorEquals: string[] }>) ?? []).flatMap((c) => c.ErrorEquals);
      expect(caught, `${name} has no States.ALL catch`).toContain('States.ALL');
    }
  });

  it('reaches every state from StartAt and never points at a missing state', () => {
    const seen = new Set<string>();
    const queue = [asl.StartAt];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      expect(states[name], `missing state ${name}`).toBeDefined();
      seen.add(name);
      queue.push(...successors(states[name]!));
    }
    expect([...seen].sort()).toEqual(Object.keys(states).sort());
  });

  it('has a path to a terminal state from every state', () => {
    const canEnd = new Set(Object.keys(states).filter((n) => isTerminal(states[n]!)));
    let grew = true;
    while (grew) {
      grew = false;
      for (const [name, s] of Object.entries(states)) {
        if (!canEnd.has(name) && successors(s).some((n) => canEnd.has(n))) {
          canEnd.add(name);
          grew = true;
        }
      }
    }
    expect(Object.keys(states).filter((n) => !canEnd.has(n))).toEqual([]);
  });

  it('bounds every agent loop by a turn count', () => {
    const routes = Object.entries(states).filter(([n]) => /Route$/.test(n) && n !== 'BoundaryRoute');
    expect(routes.map(([n]) => n).sort()).toEqual(['ImplementRoute', 'PlanRoute', 'ReviewRoute']);
    for (const [, s] of routes) expect(JSON.stringify(s.Choices)).toContain('NumericLessThan');
  });

  it('uses only the placeholders the CDK stack and the embedded stack substitute', () => {
    const placeholders = new Set([...text.matchAll(/\$\{([A-Za-z]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual([
      'LlmTurnActivityArn',
      'StageRunnerFunctionArn',
      'WaitActivityArn',
    ]);
  });

  it("ignores an LLM turn's task output: Tools reads the stored turn the loop expects", () => {
    for (const stage of ['Plan', 'Implement', 'Review']) {
      expect(states[`${stage}Turn`]?.ResultPath, stage).toBeNull();
      const tools = states[`${stage}Tools`] as { Parameters: { Payload: Record<string, string> } };
      expect(tools.Parameters.Payload['turn.$'], stage).toBe('$.loop.out.turn');
    }
  });

  it('passes a task token in no parameters: the waits and the LLM turns are activity tasks', () => {
    expect(text).not.toContain('$$.Task.Token');
    expect(text).not.toContain('waitForTaskToken');
    const activityTasks = everyState()
      .filter(([, s]) => s.Type === 'Task' && !String(s.Resource).startsWith('arn:aws:states:::'))
      .map(([name, s]) => [name, s.Resource]);
    expect(activityTasks.sort()).toEqual(
      [
        ['ApprovalWait', placeholder('WaitActivityArn')],
        ['ChecksWait', placeholder('WaitActivityArn')],
        ['ClarifyWait', placeholder('WaitActivityArn')],
        ['ImplementTurnWait', placeholder('LlmTurnActivityArn')],
        ['PlanTurnWait', placeholder('LlmTurnActivityArn')],
        ['ReviewTurnWait', placeholder('LlmTurnActivityArn')],
      ].sort(),
    );

    for (const stage of ['Plan', 'Implement', 'Review']) {
      const turn = states[`${stage}Turn`] as {
        Type: string;
        Branches: Array<{ States: Record<string, AslState> }>;
      };
      expect(turn.Type).toBe('Parallel');
      const [waiting, send] = turn.Branches.map((b) => b.States);
      expect(waiting?.[`${stage}TurnWait`]).toMatchObject({
        Parameters: { 'conversationId.$': '$.conversationId', 'turn.$': '$.turn', 'turnId.$': '$.turnId' },
        TimeoutSecondsPath: '$.timeoutSeconds',
      });
      expect(send?.[`${stage}TurnSend`]).toMatchObject({
        Parameters: { Payload: { stage: 'turn.send', 'turnId.$': '$.turnId', 'turn.$': '$.turn' } },
        Catch: [{ ErrorEquals: ['States.ALL'], Next: `${stage}TurnNotSent` }],
      });
    }

    for (const [wait, stage] of [
      ['Clarify', 'clarify'],
      ['Checks', 'checks'],
      ['Approval', 'approval'],
    ] as const) {
      const parallel = states[wait] as {
        Type: string;
        Parameters: Record<string, string>;
        Branches: Array<{ States: Record<string, AslState> }>;
        Catch: Array<{ ErrorEquals: string[]; Next: string }>;
      };
      expect(parallel.Type, wait).toBe('Parallel');
      // One id per entry into the wait, so a claim can tell its wait from an earlier one.
      expect(parallel.Parameters).toMatchObject({
        'runId.$': '$.runId',
        'waitId.$': 'States.UUID()',
        'timeoutSeconds.$': `$.admit.out.timeouts.${stage}Seconds`,
      });
      const [waiting, claim] = parallel.Branches.map((b) => b.States);
      // (asl-validator, run above, adds QueryLanguage to the parsed states.)
      expect(waiting?.[`${wait}Wait`]).toMatchObject({
        Type: 'Task',
        Resource: placeholder('WaitActivityArn'),
        Parameters: { stage, 'runId.$': '$.runId', 'waitId.$': '$.waitId' },
        TimeoutSecondsPath: '$.timeoutSeconds',
        End: true,
      });
      expect(claim?.[`${wait}Claim`]).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          Payload: { stage: 'wait.claim', wait: stage, 'runId.$': '$.runId', 'waitId.$': '$.waitId' },
        },
        Catch: [{ ErrorEquals: ['States.ALL'], Next: `${wait}NotOpened` }],
      });
      // A claim that fails is a fault of its own, never the wait's timeout.
      expect(claim?.[`${wait}NotOpened`]).toMatchObject({ Type: 'Fail', Error: 'WaitNotOpened' });
      expect(parallel.Catch[0]?.ErrorEquals).toContain('States.Timeout');
    }
  });

  it('fails the execution only for FAILED runs (the ExecutionsFailed alarm means faults)', () => {
    const endsIn = (name: string) => states[String(states[name]?.Next)]?.Type;
    expect(endsIn('FinalizeFailed')).toBe('Fail');
    for (const name of [
      'FinalizeSucceeded',
      'FinalizeBlocked',
      'FinalizeRejected',
      'FinalizeExpired',
      'FinalizeTimedOut',
      'FinalizeCancelled',
    ]) {
      expect(endsIn(name), name).toBe('Succeed');
    }
  });

  it('ends every terminal status through a Finalize step that writes it', () => {
    const finals = Object.entries(states).filter(([n]) => n.startsWith('Finalize'));
    const statuses = finals.map(([, s]) => (s.Parameters as { Payload: { status: string } }).Payload.status);
    expect(statuses.sort()).toEqual(
      ['BLOCKED', 'CANCELLED', 'EXPIRED', 'FAILED', 'REJECTED', 'SUCCEEDED', 'TIMED_OUT'].sort(),
    );
  });
});
