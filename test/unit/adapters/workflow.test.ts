import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionArnFor, SfnWorkflow } from '../../../functions/shared/adapters/workflow';

const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:pipeline';
const RUN_ID = '01JABCDEFGHJKMNPQRSTVWXYZ0';
const EXECUTION = `arn:aws:states:us-east-1:123456789012:execution:pipeline:${RUN_ID}`;
const TOKEN = 'secret-task-token';
const meta = { $metadata: {}, message: 'm' };

const sfn = mockClient(SFNClient);
const workflow = () => new SfnWorkflow(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE);

beforeEach(() => sfn.reset());

describe('SfnWorkflow', () => {
  it('derives the execution ARN from the state machine ARN and the run id', () => {
    expect(executionArnFor(STATE_MACHINE, RUN_ID)).toBe(EXECUTION);
    // Runs start through the `live` alias; their executions are named on the state machine.
    expect(executionArnFor(`${STATE_MACHINE}:live`, RUN_ID)).toBe(EXECUTION);
    expect(() => executionArnFor('arn:aws:lambda:us-east-1:1:function:f', RUN_ID)).toThrow(
      /not a state machine ARN/,
    );
  });

  it('starts an execution named after the run, with the input as JSON', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    await expect(workflow().startRun(RUN_ID, { runId: RUN_ID })).resolves.toEqual({
      executionArn: EXECUTION,
      started: true,
    });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: STATE_MACHINE,
      name: RUN_ID,
      input: JSON.stringify({ runId: RUN_ID }),
    });
  });

  it('treats ExecutionAlreadyExists for the run as a retried start (started: false)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists(meta));
    sfn.on(DescribeExecutionCommand, { executionArn: EXECUTION }).resolves({ executionArn: EXECUTION });
    await expect(workflow().startRun(RUN_ID, { runId: RUN_ID })).resolves.toEqual({
      executionArn: EXECUTION,
      started: false,
    });
  });

  it('lets other start errors through', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(workflow().startRun(RUN_ID, {})).rejects.toThrow('throttled');
  });

  it('stops the run execution and ignores one that does not exist', async () => {
    sfn
      .on(StopExecutionCommand)
      .resolvesOnce({ stopDate: new Date() })
      .rejects(new ExecutionDoesNotExist(meta));
    await workflow().stopRun(RUN_ID, 'Cancelled', 'by alice');
    expect(sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input).toEqual({
      executionArn: EXECUTION,
      error: 'Cancelled',
      cause: 'by alice',
    });
    await expect(workflow().stopRun(RUN_ID, 'Cancelled', 'again')).resolves.toBeUndefined();
  });

  it('answers tokens: true when taken, false (never a throw) for spent, expired or unknown tokens', async () => {
    sfn.on(SendTaskSuccessCommand).resolvesOnce({}).rejects(new TaskTimedOut(meta));
    sfn.on(SendTaskFailureCommand).rejects(new InvalidToken(meta));
    sfn.on(SendTaskHeartbeatCommand).rejects(new TaskDoesNotExist(meta));
    const w = workflow();
    expect(await w.sendTaskSuccess(TOKEN, { ok: 1 })).toBe(true);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: TOKEN,
      output: '{"ok":1}',
    });
    expect(await w.sendTaskSuccess(TOKEN, undefined)).toBe(false);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[1]?.args[0].input.output).toBe('null');
    expect(await w.sendTaskFailure(TOKEN, 'E', 'c')).toBe(false);
    expect(await w.sendTaskHeartbeat(TOKEN)).toBe(false);
  });

  it('trims failure error and cause to the Step Functions limits', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    expect(await workflow().sendTaskFailure(TOKEN, 'E'.repeat(300), 'c'.repeat(40_000))).toBe(true);
    const input = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(input?.error).toHaveLength(256);
    expect(input?.cause).toHaveLength(32_768);
  });

  it('rethrows other answer errors', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }));
    await expect(workflow().sendTaskSuccess(TOKEN, {})).rejects.toThrow('down');
  });
});
