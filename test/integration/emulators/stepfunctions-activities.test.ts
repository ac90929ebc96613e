import {
  ActivityDoesNotExist,
  CreateActivityCommand,
  DescribeExecutionCommand,
  GetActivityTaskCommand,
  type HistoryEvent,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS } from '../../../local/emulators/dynamodb';
import {
  type StepFunctionsEmulator,
  startStepFunctions,
} from '../../../local/emulators/stepfunctions/server';
import { history, waitForEnd } from './sfn-support';

const REGION = 'us-east-1';
const POLL_MS = 300;

async function waitForEvent(client: SFNClient, executionArn: string, type: string): Promise<HistoryEvent[]> {
  for (let attempt = 0; attempt < 250; attempt++) {
    const events = await history(client, executionArn);
    if (events.some((event) => event.type === type)) return events;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${type} event in ${executionArn}`);
}

/**
 * `Wait` is an activity task; it sits in a Parallel, as the pipeline's waits do, so errors and
 * timeouts must reach the Parallel's Catch with their names.
 */
const machine = (activityArn: string) => ({
  StartAt: 'Waiting',
  States: {
    Waiting: {
      Type: 'Parallel',
      Branches: [
        {
          StartAt: 'Wait',
          States: {
            Wait: {
              Type: 'Task',
              Resource: activityArn,
              Parameters: { 'runId.$': '$.runId', stage: 'approval' },
              TimeoutSecondsPath: '$.timeoutSeconds',
              End: true,
            },
          },
        },
        { StartAt: 'Beside', States: { Beside: { Type: 'Pass', Result: 'beside', End: true } } },
      ],
      ResultSelector: { 'answer.$': '$[0]' },
      ResultPath: '$.wait',
      Catch: [
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'TimedOut' },
        { ErrorEquals: ['Rejected'], ResultPath: '$.error', Next: 'Rejected' },
      ],
      End: true,
    },
    TimedOut: { Type: 'Pass', Result: 'timed out', ResultPath: '$.outcome', End: true },
    Rejected: { Type: 'Pass', Result: 'rejected', ResultPath: '$.outcome', End: true },
  },
});

/** A Parallel whose second branch fails at once: the activity beside it must be withdrawn. */
const failingBeside = (activityArn: string) => ({
  StartAt: 'Waiting',
  States: {
    Waiting: {
      Type: 'Parallel',
      Branches: [
        {
          StartAt: 'Wait',
          States: {
            Wait: {
              Type: 'Task',
              Resource: activityArn,
              Parameters: { 'runId.$': '$.runId' },
              TimeoutSeconds: 30,
              End: true,
            },
          },
        },
        {
          StartAt: 'Boom',
          States: {
            Boom: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: { FunctionName: 'boom', Payload: {} },
              End: true,
            },
          },
        },
      ],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
      End: true,
    },
    // The execution goes on after the failed Parallel (as a run goes on to finalize).
    Failed: { Type: 'Wait', Seconds: 1, Next: 'Done' },
    Done: { Type: 'Pass', Result: 'branch failed', ResultPath: '$.outcome', End: true },
  },
});

describe('activities: GetActivityTask hands a scheduled task to one worker; its token stays out of the history', () => {
  let sfn: StepFunctionsEmulator;
  let client: SFNClient;
  let activityArn: string;
  let stateMachineArn: string;

  beforeAll(async () => {
    const activities = ['waits'];
    const arn = `arn:aws:states:${REGION}:000000000000:activity:waits`;
    sfn = await startStepFunctions({
      stateMachines: [
        { name: 'waiting', definition: machine(arn) },
        { name: 'missing', definition: machine(`arn:aws:states:${REGION}:000000000000:activity:nope`) },
        { name: 'failing-beside', definition: failingBeside(arn) },
      ],
      lambdas: {
        boom: async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new Error('boom');
        },
      },
      activities,
      activityPollMs: POLL_MS,
    });
    client = new SFNClient({ endpoint: sfn.endpoint, region: REGION, credentials: FAKE_CREDENTIALS });
    activityArn = arn;
    stateMachineArn = sfn.stateMachineArn('waiting');
  });

  afterAll(async () => {
    client?.destroy();
    await sfn?.close();
  });

  const start = async (name: string, timeoutSeconds = 30, machineName = 'waiting') =>
    (
      await client.send(
        new StartExecutionCommand({
          stateMachineArn: machineName === 'waiting' ? stateMachineArn : sfn.stateMachineArn(machineName),
          name,
          input: JSON.stringify({ runId: name, timeoutSeconds }),
        }),
      )
    ).executionArn as string;

  const take = async (workerName = 'worker-1') =>
    client.send(new GetActivityTaskCommand({ activityArn, workerName }));

  it('CreateActivity is idempotent by name and returns the ARN the definitions use', async () => {
    const created = await client.send(new CreateActivityCommand({ name: 'waits' }));
    expect(created.activityArn).toBe(activityArn);
  });

  it('a worker takes the task with its input, answers it, and the token appears nowhere in the history', async () => {
    const executionArn = await start('run-success');
    const task = await take();
    expect(task.taskToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.parse(task.input as string)).toEqual({ runId: 'run-success', stage: 'approval' });

    await client.send(
      new SendTaskSuccessCommand({
        taskToken: task.taskToken,
        output: JSON.stringify({ decision: 'approve' }),
      }),
    );
    const ended = await waitForEnd(client, executionArn);
    expect(ended.status).toBe('SUCCEEDED');
    expect(JSON.parse(ended.output as string).wait).toEqual({ answer: { decision: 'approve' } });

    const events = await history(client, executionArn);
    const types = events.map((event) => event.type);
    expect(types).toEqual(
      expect.arrayContaining(['ActivityScheduled', 'ActivityStarted', 'ActivitySucceeded']),
    );
    expect(types.indexOf('ActivityScheduled')).toBeLessThan(types.indexOf('ActivityStarted'));
    const scheduled = events.find((event) => event.type === 'ActivityScheduled');
    expect(scheduled?.activityScheduledEventDetails?.resource).toBe(activityArn);
    expect(scheduled?.activityScheduledEventDetails?.timeoutInSeconds).toBe(30);
    expect(events.find((e) => e.type === 'ActivityStarted')?.activityStartedEventDetails?.workerName).toBe(
      'worker-1',
    );
    expect(JSON.stringify(events)).not.toContain(task.taskToken);
  });

  it('a task reaches exactly one of several concurrent pollers; the others get an empty answer', async () => {
    const polls = [take('a'), take('b'), take('c')];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const executionArn = await start('run-one-worker');
    const answers = await Promise.all(polls);
    const handed = answers.filter((answer) => answer.taskToken);
    expect(handed).toHaveLength(1);
    await client.send(new SendTaskSuccessCommand({ taskToken: handed[0]?.taskToken, output: '{}' }));
    expect((await waitForEnd(client, executionArn)).status).toBe('SUCCEEDED');
  });

  it('a failure answered by the worker reaches the Parallel Catch under its own name', async () => {
    const executionArn = await start('run-rejected');
    const task = await take();
    await client.send(
      new SendTaskFailureCommand({ taskToken: task.taskToken, error: 'Rejected', cause: 'not this way' }),
    );
    const ended = await waitForEnd(client, executionArn);
    const output = JSON.parse(ended.output as string);
    expect(output.outcome).toBe('rejected');
    expect(output.error).toEqual({ Error: 'Rejected', Cause: 'not this way' });
    const failed = (await history(client, executionArn)).find((event) => event.type === 'ActivityFailed');
    expect(failed?.activityFailedEventDetails).toEqual({ error: 'Rejected', cause: 'not this way' });
  });

  it('an unanswered task times out as States.Timeout, and its token is spent', async () => {
    const executionArn = await start('run-timeout', 1);
    const task = await take();
    const ended = await waitForEnd(client, executionArn);
    expect(JSON.parse(ended.output as string).outcome).toBe('timed out');
    expect((await history(client, executionArn)).map((event) => event.type)).toContain('ActivityTimedOut');
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: task.taskToken, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('a task of a stopped execution is never handed out; a poll with nothing scheduled ends empty', async () => {
    const executionArn = await start('run-stopped');
    await waitForEvent(client, executionArn, 'ActivityScheduled');
    await client.send(new StopExecutionCommand({ executionArn }));
    const started = Date.now();
    const answer = await take();
    expect(answer.taskToken).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(POLL_MS - 50);
  });

  it('times a task from when a worker takes it, as AWS does: one nobody takes keeps waiting', async () => {
    const executionArn = await start('run-untaken', 1);
    await waitForEvent(client, executionArn, 'ActivityScheduled');
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    const task = await take();
    expect(task.taskToken).toBeTruthy();
    const ended = await waitForEnd(client, executionArn);
    expect(JSON.parse(ended.output as string).outcome).toBe('timed out');
    const types = (await history(client, executionArn)).map((event) => event.type);
    expect(types.indexOf('ActivityStarted')).toBeLessThan(types.indexOf('ActivityTimedOut'));
  });

  it('withdraws a queued task when a sibling branch fails its Parallel: no worker ever gets it', async () => {
    const executionArn = await client
      .send(
        new StartExecutionCommand({
          stateMachineArn: sfn.stateMachineArn('failing-beside'),
          name: 'run-withdrawn',
          input: JSON.stringify({ runId: 'run-withdrawn' }),
        }),
      )
      .then((out) => out.executionArn as string);
    await waitForEvent(client, executionArn, 'WaitStateEntered');
    // Still running, its activity task still queued had it not been withdrawn: a poll gets nothing.
    expect((await take()).taskToken).toBeUndefined();
    const ended = await waitForEnd(client, executionArn);
    expect(JSON.parse(ended.output as string).outcome).toBe('branch failed');
    // A later execution's task is the one a worker gets, not the withdrawn one.
    const next = await start('run-after-withdrawal');
    const task = await take();
    expect(JSON.parse(task.input as string).runId).toBe('run-after-withdrawal');
    await client.send(new SendTaskSuccessCommand({ taskToken: task.taskToken, output: '{}' }));
    expect((await waitForEnd(client, next)).status).toBe('SUCCEEDED');
  });

  it('an activity that does not exist fails the execution; polling it is ActivityDoesNotExist', async () => {
    const executionArn = await start('run-missing', 30, 'missing');
    const ended = await waitForEnd(client, executionArn);
    expect(ended.status).toBe('FAILED');
    expect(ended.error).toBe('States.Runtime');
    expect((await history(client, executionArn)).map((event) => event.type)).toContain(
      'ActivityScheduleFailed',
    );
    await expect(
      client.send(
        new GetActivityTaskCommand({ activityArn: `arn:aws:states:${REGION}:000000000000:activity:nope` }),
      ),
    ).rejects.toBeInstanceOf(ActivityDoesNotExist);
  });
});
