import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import {
  DescribeExecutionCommand,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SfnWorkflow } from '../../../functions/shared/adapters/workflow';
import { FAKE_CREDENTIALS } from '../../../local/emulators/dynamodb';
import {
  type StepFunctionsEmulator,
  startStepFunctions,
  substitute,
} from '../../../local/emulators/stepfunctions/server';
import { history, waitForEnd } from './sfn-support';

const REGION = 'us-east-1';
const PARK_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:park';

const fixture = (name: string, values: Record<string, string> = {}) =>
  substitute(readFileSync(new URL(`../../fixtures/asl/${name}.json`, import.meta.url), 'utf8'), values);

describe('callback tasks: state machine → SQS → worker → SendTask* → execution continues', () => {
  let fauxqs: ReturnType<typeof buildApp>;
  let sqs: SQSClient;
  let queueUrl: string;
  let sfn: StepFunctionsEmulator;
  let client: SFNClient;
  /** Tokens handed to the parked lambda, by execution name. */
  const parkedTokens = new Map<string, string>();

  /** The worker: one SQS message (bounded wait), deleted after reading, as a consumer would. */
  async function receiveOne(): Promise<{ taskToken: string; runId: string }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
      );
      const message = Messages?.[0];
      if (message?.Body) {
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        return JSON.parse(message.Body) as { taskToken: string; runId: string };
      }
    }
    throw new Error('no message arrived');
  }

  async function waitForParkedToken(name: string): Promise<string> {
    for (let attempt = 0; attempt < 250; attempt++) {
      const token = parkedTokens.get(name);
      if (token) return token;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no token was parked for ${name}`);
  }

  beforeAll(async () => {
    fauxqs = buildApp({ logger: false });
    await fauxqs.listen({ port: 0, host: '127.0.0.1' });
    const { port } = fauxqs.server.address() as AddressInfo;
    sqs = new SQSClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: REGION,
      credentials: FAKE_CREDENTIALS,
    });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'llm' }))).QueueUrl!;

    sfn = await startStepFunctions({
      stateMachines: [
        { name: 'callback', definition: fixture('callback-sqs', { QueueUrl: queueUrl }) },
        { name: 'timeouts', definition: fixture('callback-timeouts', { ParkFunctionArn: PARK_ARN }) },
        { name: 'park', definition: fixture('wait-forever', { ParkFunctionArn: PARK_ARN }) },
      ],
      lambdas: {
        [PARK_ARN]: async (event) => {
          parkedTokens.set(currentName, (event as { taskToken: string }).taskToken);
          return { parked: true };
        },
      },
      sqsClient: sqs,
      log: () => undefined,
    });
    client = new SFNClient({ endpoint: sfn.endpoint, region: REGION, credentials: FAKE_CREDENTIALS });
  });

  /** The parked lambda cannot see the execution name; tests start one parked execution at a time. */
  let currentName = '';

  afterAll(async () => {
    client?.destroy();
    await sfn?.close();
    sqs?.destroy();
    await fauxqs?.close();
  });

  it('SendTaskSuccess from the worker resumes the execution with the answer (and the token is single use)', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: sfn.stateMachineArn('callback'),
        name: 'run-ok',
        input: '{"runId":"run-ok"}',
      }),
    );
    const message = await receiveOne();
    expect(message.runId).toBe('run-ok');
    expect(message.taskToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    await client.send(
      new SendTaskSuccessCommand({ taskToken: message.taskToken, output: '{"verdict":"yes"}' }),
    );
    const end = await waitForEnd(client, executionArn!);
    expect(end.status).toBe('SUCCEEDED');
    expect(JSON.parse(end.output!)).toEqual({
      runId: 'run-ok',
      answer: { verdict: 'yes' },
      outcome: 'answered',
    });

    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: message.taskToken, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
    const types = (await history(client, executionArn!)).map((e) => e.type);
    expect(types).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('SendTaskFailure is caught by the Catch and the execution takes the fallback state', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: sfn.stateMachineArn('callback'),
        input: '{"runId":"run-no"}',
      }),
    );
    const message = await receiveOne();
    await client.send(
      new SendTaskFailureCommand({
        taskToken: message.taskToken,
        error: 'BudgetExceeded',
        cause: 'no money left',
      }),
    );
    const end = await waitForEnd(client, executionArn!);
    expect(end.status).toBe('SUCCEEDED');
    expect(JSON.parse(end.output!)).toEqual({
      runId: 'run-no',
      failure: { Error: 'BudgetExceeded', Cause: 'no money left' },
      outcome: 'fell back',
    });
    const failed = (await history(client, executionArn!)).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({ resourceType: 'sqs', error: 'BudgetExceeded' });
    await expect(
      client.send(new SendTaskFailureCommand({ taskToken: message.taskToken, error: 'Again' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('refuses tokens it never issued as InvalidToken', async () => {
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' })),
    ).rejects.toBeInstanceOf(InvalidToken);
    await expect(
      client.send(new SendTaskHeartbeatCommand({ taskToken: 'A'.repeat(43) })),
    ).rejects.toBeInstanceOf(InvalidToken);
  });

  it.each([
    ['TimeoutSeconds', '{"case":"timeout"}'],
    ['TimeoutSecondsPath', '{"case":"timeoutPath","limits":{"timeout":1}}'],
  ])(
    '%s on a callback task raises States.Timeout (not matched by States.TaskFailed)',
    async (field, input) => {
      currentName = `timeout-${field}`;
      const startedAt = Date.now();
      const { executionArn } = await client.send(
        new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn('timeouts'), input }),
      );
      const token = await waitForParkedToken(currentName);
      const end = await waitForEnd(client, executionArn!);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(900);
      expect(end.status).toBe('SUCCEEDED');
      expect(JSON.parse(end.output!)).toMatchObject({
        outcome: 'timed out',
        failure: { Error: 'States.Timeout' },
      });
      const events = await history(client, executionArn!);
      const timedOut = events.find((e) => e.type === 'TaskTimedOut');
      expect(timedOut?.taskTimedOutEventDetails?.error).toBe('States.Timeout');
      const scheduled = events.find((e) => e.type === 'TaskScheduled')?.taskScheduledEventDetails;
      expect(scheduled?.timeoutInSeconds).toBe(1);
      // The integration sees the state's Parameters only, never the engine's helper fields.
      expect(Object.keys(JSON.parse(scheduled!.parameters!)).sort()).toEqual(['FunctionName', 'Payload']);
      await expect(
        client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
      ).rejects.toBeInstanceOf(TaskTimedOut);
    },
  );

  it('heartbeats keep a callback task alive; without them it fails States.HeartbeatTimeout', async () => {
    currentName = 'heartbeat-case';
    const startedAt = Date.now();
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: sfn.stateMachineArn('timeouts'),
        input: '{"case":"heartbeat","limits":{"heartbeat":1}}',
      }),
    );
    const token = await waitForParkedToken('heartbeat-case');
    // Three heartbeats 600 ms apart keep a 1 s heartbeat (HeartbeatSecondsPath) task alive for ~1.8 s.
    for (let beat = 0; beat < 3; beat++) {
      await new Promise((resolve) => setTimeout(resolve, 600));
      await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
    const end = await waitForEnd(client, executionArn!);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2_500);
    expect(JSON.parse(end.output!)).toMatchObject({
      outcome: 'heartbeat lost',
      failure: { Error: 'States.HeartbeatTimeout' },
    });
    await expect(client.send(new SendTaskHeartbeatCommand({ taskToken: token }))).rejects.toBeInstanceOf(
      TaskTimedOut,
    );
  });

  it('StopExecution aborts a waiting callback and spends its token', async () => {
    currentName = 'stop-case';
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn('park'), name: 'stop-case' }),
    );
    const token = await waitForParkedToken('stop-case');
    await client.send(new StopExecutionCommand({ executionArn }));
    expect((await client.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('SfnWorkflow drives the same endpoint: idempotent start, answers, false for spent tokens', async () => {
    const workflow = new SfnWorkflow(client, sfn.stateMachineArn('callback'));
    const runId = '01JTESTRUN0000000000000000';
    const first = await workflow.startRun(runId, { runId });
    expect(first).toEqual({
      executionArn: `arn:aws:states:us-east-1:000000000000:execution:callback:${runId}`,
      started: true,
    });
    const message = await receiveOne();
    expect(await workflow.sendTaskHeartbeat(message.taskToken)).toBe(true);
    expect(await workflow.sendTaskSuccess(message.taskToken, { verdict: 'ok' })).toBe(true);
    expect(await workflow.sendTaskSuccess(message.taskToken, { verdict: 'again' })).toBe(false);
    expect(await workflow.sendTaskFailure('garbage', 'E', 'c')).toBe(false);
    const end = await waitForEnd(client, first.executionArn);
    expect(end.status).toBe('SUCCEEDED');
    // A retried start after the run ended: same execution, not started again.
    expect(await workflow.startRun(runId, { runId })).toEqual({
      executionArn: first.executionArn,
      started: false,
    });
  });
});
