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

const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
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
    for (const [name, s] of Object.entries(states)) {
      if (s.Type !== 'Task') continue;
      const has = typeof s.TimeoutSeconds === 'number' || typeof s.TimeoutSecondsPath === 'string';
      expect(has, `${name} has no TimeoutSeconds`).toBe(true);
    }
  });

  it("retries AWS's transient Lambda errors on every Lambda task", () => {
    const lambdaTasks = Object.entries(states).filter(([, s]) =>
      String(s.Resource).includes(':lambda:invoke'),
    );
    expect(lambdaTasks.length).toBeGreaterThan(10);
    for (const [name, s] of lambdaTasks) {
      const retried = ((s.Retry as Array<{ ErrorEquals: string[] }>) ?? []).flatMap((r) => r.ErrorEquals);
      for (const error of LAMBDA_TRANSIENT)
        expect(retried, `${name} does not retry ${error}`).toContain(error);
    }
  });

  it('catches every error on every Task', () => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type !== 'Task') continue;
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

  it('pauses only on plain task-token callbacks, each with a timeout (decision 0004)', () => {
    const pauses = Object.entries(states).filter(([, s]) => String(s.Resource).endsWith('.waitForTaskToken'));
    expect(pauses.map(([n]) => n).sort()).toEqual([
      'Approval',
      'Checks',
      'CiSummaryTurn',
      'Clarify',
      'ImplementTurn',
      'PlanTurn',
      'RescuePrChecks',
      'RescuePrCiSummaryTurn',
      'RescuePrTurn',
      'ReviewPrTurn',
      'ReviewTurn',
    ]);
    for (const [name, s] of pauses) {
      expect(typeof s.TimeoutSecondsPath, `${name} timeout`).toBe('string');
      // The token goes to the one place that stores it: the wait's Lambda or the LLM queue message.
      const where = String(s.Resource).includes(':lambda:') ? 'Payload' : 'MessageBody';
      const parameters = s.Parameters as Record<string, Record<string, unknown>>;
      expect(parameters[where]?.['taskToken.$'], name).toBe('$$.Task.Token');
    }
    // No activity task, no Parallel, and the token nowhere else.
    for (const [name, s] of Object.entries(states)) {
      expect(String(s.Resource ?? ''), name).not.toMatch(/:activity:|\$\{\w*Activity\w*\}/);
      expect(s.Type, name).not.toBe('Parallel');
    }
    expect(text.match(/\$\$\.Task\.Token/g)).toHaveLength(pauses.length);
  });

  it('bounds every agent loop by a turn count', () => {
    const routes = Object.entries(states).filter(
      ([n]) => /Route$/.test(n) && n !== 'BoundaryRoute' && n !== 'KindRoute',
    );
    expect(routes.map(([n]) => n).sort()).toEqual([
      'ImplementRoute',
      'PlanRoute',
      'RescuePrRoute',
      'ReviewPrRoute',
      'ReviewRoute',
    ]);
    for (const [, s] of routes) expect(JSON.stringify(s.Choices)).toContain('NumericLessThan');
  });

  it('keeps the work of a loop out of turns or budget, or of failing checks, then ends STOPPED', () => {
    type Choice = { Variable?: string; StringEquals?: string; Next: string };
    const routeOf = (loop: string, outcome: string) =>
      ((states[`${loop}Route`]?.Choices ?? []) as Choice[]).find((c) => c.StringEquals === outcome)?.Next;
    for (const loop of ['Plan', 'Implement', 'Review']) {
      expect(routeOf(loop, 'exhausted'), loop).toBe('KeepWork');
      // The fixed ceiling (a backstop behind the run contract's limits.turns) keeps the work too.
      expect(states[String(states[`${loop}Route`]?.Default)]?.Next, loop).toBe('KeepWork');
      const caught = states[`${loop}Turn`]?.Catch as Array<{ ErrorEquals: string[]; Next: string }>;
      expect(caught[0], loop).toMatchObject({ ErrorEquals: ['BudgetExceeded'], Next: 'KeepWork' });
    }
    expect(routeOf('Implement', 'stopped')).toBe('KeepWork');
    expect(states.KeepWork).toMatchObject({
      Parameters: { Payload: { stage: 'keep-work', 'error.$': '$.error' } },
      Next: 'FinalizeStopped',
    });
  });

  it('takes each run kind its own path after Admit: a review run reviews and never publishes or keeps work', () => {
    type Choice = { Variable?: string; StringEquals?: string; Next: string };
    expect(states.Admit?.Next).toBe('KindRoute');
    const kinds = Object.fromEntries(
      ((states.KindRoute?.Choices ?? []) as Choice[]).map((c) => [c.StringEquals, c.Next]),
    );
    expect(kinds).toEqual({
      review: 'ReviewPrStart',
      rescue: 'RescuePrChecks',
      'follow-up': 'ImplementStart',
    });
    expect(states.KindRoute?.Default).toBe('PlanStart');
    // Everything a review run can reach: no publish, merge, revert or KeepWork on someone's PR.
    const seen = new Set<string>();
    const queue = ['ReviewPrStart'];
    while (queue.length > 0) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      queue.push(...successors(states[name]!));
    }
    for (const forbidden of ['Publish', 'Merge', 'Revert', 'KeepWork', 'Approval', 'PlanStart'])
      expect(seen.has(forbidden), forbidden).toBe(false);
    expect(seen.has('FinalizeSucceeded')).toBe(true);
    const turn = states.ReviewPrTurn?.Parameters as { MessageBody?: { modelAlias?: string } } | undefined;
    expect(turn?.MessageBody?.modelAlias).toBe('reviewer');
    // Out of turns, at the ceiling or out of budget: a partial review is posted, then STOPPED.
    const reviewRoute = (states.ReviewPrRoute?.Choices ?? []) as Choice[];
    expect(reviewRoute.find((c) => c.StringEquals === 'exhausted')?.Next).toBe('ReviewPrPartial');
    expect(states.ReviewPrExhausted?.Next).toBe('ReviewPrPartial');
    const caught = states.ReviewPrTurn?.Catch as Array<{ ErrorEquals: string[]; Next: string }>;
    expect(caught[0]).toMatchObject({ ErrorEquals: ['BudgetExceeded'], Next: 'ReviewPrPartial' });
    expect(states.ReviewPrPartial).toMatchObject({
      Parameters: { Payload: { stage: 'review-pr.partial', 'error.$': '$.error' } },
      Next: 'FinalizeStopped',
    });
  });

  it('a rescue run reads CI, fixes and pushes on the PR in a loop, and never publishes a PR, reverts, keeps work, asks approval or merges', () => {
    type Choice = { Variable?: string; StringEquals?: string; Next: string };
    const seen = new Set<string>();
    const queue = ['RescuePrChecks'];
    while (queue.length > 0) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      queue.push(...successors(states[name]!));
    }
    for (const forbidden of [
      'Publish',
      'Merge',
      'Revert',
      'KeepWork',
      'Approval',
      'PlanStart',
      'ReviewStart',
    ])
      expect(seen.has(forbidden), forbidden).toBe(false);
    for (const reached of [
      'RescuePrStart',
      'RescuePrBoundary',
      'RescuePrPush',
      'FinalizeSucceeded',
      'FinalizeFailed',
    ])
      expect(seen.has(reached), reached).toBe(true);
    // The loop: a push goes back to the CI wait; a failure with attempts left to the coder.
    const choices = (name: string) =>
      Object.fromEntries(((states[name]?.Choices ?? []) as Choice[]).map((c) => [c.StringEquals, c.Next]));
    expect(choices('RescuePrPushed')).toEqual({ pushed: 'RescuePrChecks' });
    expect(states.RescuePrPushed?.Default).toBe('FinalizeStopped');
    expect(choices('RescuePrChecksChoice')).toMatchObject({
      pass: 'FinalizeSucceeded',
      fix: 'RescuePrStart',
      revert: 'FinalizeFailed',
      wait: 'RescuePrChecks',
    });
    expect(states.RescuePrPush).toMatchObject({ Parameters: { Payload: { stage: 'rescue-pr.push' } } });
    const turn = states.RescuePrTurn?.Parameters as { MessageBody?: { modelAlias?: string } } | undefined;
    expect(turn?.MessageBody?.modelAlias).toBe('coder');
    // A refused rescue (fork, a sender who may not push) ends BLOCKED, not FAILED.
    for (const refusal of ['ForkPullRequest', 'SenderCannotPush', 'ProtectedBranch'])
      expect(choices('RecordFailure')[refusal], refusal).toBe('FinalizeBlocked');
  });

  it('summarises long CI logs with the fast alias before a fix, and goes on to the fix whatever happens to the summary', () => {
    type Choice = { Variable?: string; StringEquals?: string; Next: string };
    const choices = (name: string) =>
      Object.fromEntries(((states[name]?.Choices ?? []) as Choice[]).map((c) => [c.StringEquals, c.Next]));
    for (const [prefix, choice, fix] of [
      ['', 'ChecksChoice', 'ImplementStart'],
      ['RescuePr', 'RescuePrChecksChoice', 'RescuePrStart'],
    ] as const) {
      expect(choices(choice)).toMatchObject({ fix, summarize: `${prefix}CiSummaryTurn` });
      const turn = states[`${prefix}CiSummaryTurn`] as Record<string, unknown>;
      expect(turn).toMatchObject({
        Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
        Parameters: {
          MessageBody: {
            stage: 'ci-summary',
            modelAlias: 'fast',
            'conversationId.$': '$.step.out.conversationId',
            'turn.$': '$.step.out.turn',
          },
        },
        ResultPath: null,
        Next: `${prefix}CiSummaryRead`,
      });
      const read = states[`${prefix}CiSummaryRead`] as Record<string, unknown>;
      expect(read).toMatchObject({ Parameters: { Payload: { stage: 'ci-summary.read' } }, Next: fix });
      // A failed summary (budget, model down, a forged answer) costs the summary, not the run, and
      // never overwrites the run's `$.error`.
      for (const state of [turn, read])
        expect(state.Catch).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.summaryError', Next: fix },
        ]);
    }
  });

  it('a follow-up run skips the plan: from ImplementStart it reaches publish, checks, review, approval and merge', () => {
    const seen = new Set<string>();
    const queue = ['ImplementStart'];
    while (queue.length > 0) {
      const name = queue.shift() as string;
      if (seen.has(name)) continue;
      seen.add(name);
      queue.push(...successors(states[name]!));
    }
    for (const reached of ['Boundary', 'Publish', 'Checks', 'ReviewStart', 'Approval', 'Merge'])
      expect(seen.has(reached), reached).toBe(true);
    expect(seen.has('PlanStart')).toBe(false);
  });

  it('uses only the placeholders the CDK stack and the embedded stack substitute', () => {
    const placeholders = new Set([...text.matchAll(/\$\{([A-Za-z]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual([
      'LlmQueueUrl',
      'SandboxFunctionArn',
      'SandboxOnlineFunctionArn',
      'SandboxSetupFunctionArn',
      'StageRunnerFunctionArn',
    ]);
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
      'FinalizeStopped',
    ]) {
      expect(endsIn(name), name).toBe('Succeed');
    }
  });

  it('reports an approval nobody gave in time as ApprovalExpired, not States.Timeout', () => {
    const approval = states.Approval as { Catch: Array<{ ErrorEquals: string[]; Next: string }> };
    const onTimeout = approval.Catch.find((c) => c.ErrorEquals.includes('States.Timeout'));
    expect(onTimeout?.Next).toBe('ApprovalExpired');
    expect(states.ApprovalExpired).toMatchObject({
      Type: 'Pass',
      Result: { Error: 'ApprovalExpired' },
      ResultPath: '$.error',
      Next: 'FinalizeExpired',
    });
  });

  it('ends every terminal status through a Finalize step that writes it', () => {
    const finals = Object.entries(states).filter(([n]) => n.startsWith('Finalize'));
    const statuses = finals.map(([, s]) => (s.Parameters as { Payload: { status: string } }).Payload.status);
    expect(statuses.sort()).toEqual(
      ['BLOCKED', 'CANCELLED', 'EXPIRED', 'FAILED', 'REJECTED', 'STOPPED', 'SUCCEEDED', 'TIMED_OUT'].sort(),
    );
  });
});
