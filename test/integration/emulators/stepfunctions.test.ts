import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, startDynamo } from '../../../local/emulators/dynamodb';
import {
  type ExecutionRecord,
  type LambdaHandler,
  type StepFunctionsEmulator,
  startStepFunctions,
  substitute,
} from '../../../local/emulators/stepfunctions/server';
import { history, waitForEnd } from './sfn-support';

const REGION = 'us-east-1';
const WORKER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:worker';
const PARK_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:park';
const TABLE = 'sfn-test';

const fixture = (name: string, values: Record<string, string> = {}) =>
  substitute(readFileSync(new URL(`../../fixtures/asl/${name}.json`, import.meta.url), 'utf8'), values);

const sfnClient = (endpoint: string) =>
  new SFNClient({ endpoint, region: REGION, credentials: FAKE_CREDENTIALS });

/** Resolves when `predicate` holds (bounded polling). */
async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('local Step Functions through @aws-sdk/client-sfn', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamo>>;
  let dynamoClient: DynamoDBClient;
  let sfn: StepFunctionsEmulator;
  let client: SFNClient;
  const workerCalls: unknown[] = [];
  let parked = 0;
  const ended: ExecutionRecord[] = [];

  /** Fails with `Transient` `failuresBeforeSuccess` times, then answers; mode `broken` always fails. */
  let failuresLeft = 0;
  const worker: LambdaHandler = async (event, context) => {
    workerCalls.push(event);
    const mode = (event as { mode?: string }).mode;
    if (mode === 'broken') throw new TypeError('cannot read the thing');
    if (mode === 'huge') return { blob: 'a'.repeat(300_000) };
    if (failuresLeft > 0) {
      failuresLeft--;
      const error = new Error('try again');
      error.name = 'Transient';
      throw error;
    }
    return {
      ok: true,
      function: context.functionName,
      remainingPositive: context.getRemainingTimeInMillis() > 0,
    };
  };
  const park: LambdaHandler = async () => {
    parked++;
    return { parked: true };
  };

  beforeAll(async () => {
    dynamo = await startDynamo();
    dynamoClient = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: REGION,
      credentials: FAKE_CREDENTIALS,
    });
    await dynamoClient.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    sfn = await startStepFunctions({
      stateMachines: [
        { name: 'pass-choice', definition: fixture('pass-choice') },
        { name: 'lambda', definition: fixture('lambda-retry-catch', { WorkerFunctionArn: WORKER_ARN }) },
        { name: 'dynamodb', definition: fixture('dynamodb', { TableName: TABLE }) },
        { name: 'park', definition: fixture('wait-forever', { ParkFunctionArn: PARK_ARN }) },
        { name: 'unknown', definition: fixture('unknown-resource') },
      ],
      lambdas: { [WORKER_ARN]: worker, [PARK_ARN]: park },
      dynamoClient,
      onExecutionEnd: (record) => {
        ended.push(record);
      },
      log: () => undefined,
    });
    client = sfnClient(sfn.endpoint);
  });

  afterAll(async () => {
    client?.destroy();
    await sfn?.close();
    dynamoClient?.destroy();
    await dynamo?.close();
  });

  it('substitute() fills placeholders and refuses unresolved ones', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ASL placeholders, not template literals
    expect(substitute('{"a":"${X}"}', { X: 'q"1' })).toBe('{"a":"q\\"1"}');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ASL placeholders, not template literals
    expect(() => substitute('{"a":"${X}","b":"${Y}"}', { X: '1' })).toThrow(/unresolved ASL placeholders: Y/);
  });

  it('runs Pass and Choice states to success and to a Fail state', async () => {
    const arn = sfn.stateMachineArn('pass-choice');
    const big = await client.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{"n":42}' }));
    const bigEnd = await waitForEnd(client, big.executionArn!);
    expect(bigEnd.status).toBe('SUCCEEDED');
    expect(JSON.parse(bigEnd.output!)).toEqual({ n: 42, label: 'prepared', size: 'big' });
    expect(bigEnd.startDate).toBeInstanceOf(Date);
    expect(bigEnd.stopDate!.getTime()).toBeGreaterThanOrEqual(bigEnd.startDate!.getTime());

    const small = await client.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{"n":3}' }));
    const smallEnd = await waitForEnd(client, small.executionArn!);
    expect(smallEnd).toMatchObject({
      status: 'FAILED',
      error: 'TooSmall',
      cause: 'n must be greater than 10',
    });

    const types = (await history(client, big.executionArn!)).map((e) => e.type);
    expect(types).toEqual([
      'ExecutionStarted',
      'PassStateEntered',
      'PassStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('retries a failing lambda, then succeeds with the lambda:invoke result shape', async () => {
    failuresLeft = 1;
    workerCalls.length = 0;
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: sfn.stateMachineArn('lambda'),
        name: 'retry-then-ok',
        input: '{"mode":"ok"}',
      }),
    );
    const end = await waitForEnd(client, executionArn!);
    expect(end.status).toBe('SUCCEEDED');
    expect(JSON.parse(end.output!).work).toEqual({
      result: { ok: true, function: 'worker', remainingPositive: true },
    });
    expect(workerCalls).toEqual([
      { mode: 'ok', execution: 'retry-then-ok' },
      { mode: 'ok', execution: 'retry-then-ok' },
    ]);

    const events = await history(client, executionArn!);
    const types = events.map((e) => String(e.type));
    // One state entered, two attempts: the retry shows as a second TaskScheduled, as on AWS.
    expect(types.filter((t) => t.endsWith('StateEntered'))).toEqual(['TaskStateEntered']);
    expect(types.filter((t) => t === 'TaskScheduled')).toHaveLength(2);
    const failed = events.find((e) => e.type === 'TaskFailed')!;
    expect(failed.taskFailedEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      error: 'Transient',
    });
    expect(JSON.parse(failed.taskFailedEventDetails!.cause!)).toMatchObject({
      errorType: 'Transient',
      errorMessage: 'try again',
    });
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(types.indexOf('TaskStateEntered')).toBeLessThan(types.indexOf('TaskScheduled'));
    expect(types.at(-2)).toBe('TaskStateExited');
  });

  it('catches a lambda error as Error = errorType and Cause = the Lambda error document', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: sfn.stateMachineArn('lambda'),
        input: '{"mode":"broken"}',
      }),
    );
    const end = await waitForEnd(client, executionArn!);
    expect(end.status).toBe('SUCCEEDED');
    const output = JSON.parse(end.output!);
    expect(output.outcome).toBe('fell back');
    expect(output.failure.Error).toBe('TypeError');
    expect(JSON.parse(output.failure.Cause)).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'cannot read the thing',
    });
    const stateEntered = (await history(client, executionArn!)).filter((e) =>
      String(e.type).endsWith('StateEntered'),
    );
    expect(stateEntered.map((e) => e.stateEnteredEventDetails?.name)).toEqual(['Work', 'Fallback']);
  });

  it('runs DynamoDB integrations against the real client, including a caught conditional failure', async () => {
    const arn = sfn.stateMachineArn('dynamodb');
    const first = await client.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"id":"item-1"}' }),
    );
    const firstEnd = await waitForEnd(client, first.executionArn!);
    expect(firstEnd.status).toBe('SUCCEEDED');
    expect(JSON.parse(firstEnd.output!)).toEqual({
      id: 'item-1',
      read: { note: 'written by a state machine' },
    });

    const second = await client.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"id":"item-1"}' }),
    );
    const secondEnd = await waitForEnd(client, second.executionArn!);
    expect(JSON.parse(secondEnd.output!)).toMatchObject({
      outcome: 'duplicate',
      failure: { Error: 'DynamoDB.ConditionalCheckFailedException' },
    });
  });

  it('fails an execution on a Task resource it cannot run, even past a States.ALL catcher', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn('unknown') }),
    );
    const end = await waitForEnd(client, executionArn!);
    expect(end.status).toBe('FAILED');
    expect(end.error).toBe('States.Runtime');
    expect(end.cause).toMatch(/arn:aws:states:::sns:publish.*cannot run/);
  });

  it('fails an execution whose task returns more than 256 KB, past its States.ALL catcher', async () => {
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: sfn.stateMachineArn('lambda'),
        name: 'too-big',
        input: '{"mode":"huge"}',
      }),
    );
    const end = await waitForEnd(client, executionArn!);
    expect(end.status).toBe('FAILED');
    expect(end.error).toBe('States.DataLimitExceeded');
  });

  it('StartExecution is idempotent by name while running with the same input; otherwise ExecutionAlreadyExists', async () => {
    const stateMachineArn = sfn.stateMachineArn('park');
    const first = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: 'run-1', input: '{"a":1}' }),
    );
    const again = await client.send(
      new StartExecutionCommand({ stateMachineArn, name: 'run-1', input: '{"a":1}' }),
    );
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate).toEqual(first.startDate);
    expect(first.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:park:run-1');
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, name: 'run-1', input: '{"a":2}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);

    const running = await client.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }),
    );
    expect(running.executions?.map((e) => e.name)).toContain('run-1');

    // StopExecution aborts it at once; its parked lambda was called exactly once.
    await client.send(
      new StopExecutionCommand({ executionArn: first.executionArn, error: 'Cancelled', cause: 'by test' }),
    );
    const stopped = await client.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'by test' });
    expect(parked).toBeGreaterThanOrEqual(1);
    const types = (await history(client, first.executionArn!)).map((e) => e.type);
    expect(types.at(-1)).toBe('ExecutionAborted');
    await eventually(() => ended.some((r) => r.executionArn === first.executionArn));
    expect(ended.find((r) => r.executionArn === first.executionArn)?.status).toBe('ABORTED');

    // A closed execution's name cannot be reused, even with the same input.
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn, name: 'run-1', input: '{"a":1}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    const aborted = await client.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'ABORTED' }),
    );
    expect(aborted.executions?.map((e) => e.name)).toEqual(['run-1']);
    const stillRunning = await client.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }),
    );
    expect(stillRunning.executions?.map((e) => e.name) ?? []).not.toContain('run-1');
  });

  it('lists and describes state machines and answers AWS errors as SDK exception classes', async () => {
    const { stateMachines } = await client.send(new ListStateMachinesCommand({}));
    expect(stateMachines?.map((m) => m.name).sort()).toEqual([
      'dynamodb',
      'lambda',
      'park',
      'pass-choice',
      'unknown',
    ]);
    const described = await client.send(
      new DescribeStateMachineCommand({ stateMachineArn: sfn.stateMachineArn('lambda') }),
    );
    expect(described.status).toBe('ACTIVE');
    expect(JSON.parse(described.definition!).States.Work.Parameters.FunctionName).toBe(WORKER_ARN);

    await expect(
      client.send(
        new DescribeExecutionCommand({
          executionArn: 'arn:aws:states:us-east-1:000000000000:execution:park:nope',
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn('missing') })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      client.send(
        new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn('park'), input: '{not json' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    // The wrong kind of ARN is InvalidArn, not "does not exist"; page sizes are validated.
    await expect(
      client.send(new DescribeExecutionCommand({ executionArn: sfn.stateMachineArn('park') })),
    ).rejects.toMatchObject({ name: 'InvalidArn' });
    await expect(
      client.send(
        new StartExecutionCommand({
          stateMachineArn: 'arn:aws:states:us-east-1:000000000000:execution:park:some-run',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidArn' });
    for (const maxResults of [1001, -1]) {
      await expect(client.send(new ListStateMachinesCommand({ maxResults }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
    }
    expect((await client.send(new ListStateMachinesCommand({ maxResults: 2 }))).stateMachines).toHaveLength(
      2,
    );
  });
});

describe('local Step Functions persistence', () => {
  it('ends executions left RUNNING by a previous process as FAILED LocalEngineRestarted, keeping the rest', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sfn-data-'));
    const lambdas = { [PARK_ARN]: async () => ({ parked: true }) };
    const stateMachines = [
      { name: 'park', definition: fixture('wait-forever', { ParkFunctionArn: PARK_ARN }) },
      { name: 'pass-choice', definition: fixture('pass-choice') },
    ];
    let first: StepFunctionsEmulator | undefined;
    let second: StepFunctionsEmulator | undefined;
    let client: SFNClient | undefined;
    try {
      first = await startStepFunctions({ dataDir, stateMachines, lambdas, log: () => undefined });
      client = sfnClient(first.endpoint);
      const parked = await client.send(
        new StartExecutionCommand({ stateMachineArn: first.stateMachineArn('park'), name: 'interrupted' }),
      );
      const done = await client.send(
        new StartExecutionCommand({
          stateMachineArn: first.stateMachineArn('pass-choice'),
          input: '{"n":11}',
        }),
      );
      await waitForEnd(client, done.executionArn!);
      await eventually(() => first!.engine.describeExecution(parked.executionArn!).history.length >= 4);
      await first.close();
      client.destroy();

      const ended: ExecutionRecord[] = [];
      second = await startStepFunctions({
        dataDir,
        stateMachines,
        lambdas,
        onExecutionEnd: (record) => {
          ended.push(record);
        },
        log: () => undefined,
      });
      client = sfnClient(second.endpoint);
      const restarted = await client.send(
        new DescribeExecutionCommand({ executionArn: parked.executionArn }),
      );
      expect(restarted).toMatchObject({ status: 'FAILED', error: 'LocalEngineRestarted' });
      expect(ended.map((r) => [r.name, r.status])).toEqual([['interrupted', 'FAILED']]);
      const types = (await history(client, parked.executionArn!)).map((e) => e.type);
      expect(types).toEqual([
        'ExecutionStarted',
        'TaskStateEntered',
        'TaskScheduled',
        'TaskStarted',
        'TaskSubmitted',
        'ExecutionFailed',
      ]);

      const kept = await client.send(new DescribeExecutionCommand({ executionArn: done.executionArn }));
      expect(kept.status).toBe('SUCCEEDED');
      expect(JSON.parse(kept.output!).size).toBe('big');
      const listed = await client.send(
        new ListExecutionsCommand({ stateMachineArn: second.stateMachineArn('park') }),
      );
      expect(listed.executions?.map((e) => e.status)).toEqual(['FAILED']);
    } finally {
      client?.destroy();
      await first?.close();
      await second?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
