import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { StartRunResult, Workflow } from '../ports';

/** Errors meaning "this token can no longer be answered": the caller moves on, nothing to retry. */
const SPENT_TOKEN_ERRORS = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);
/** Step Functions limits on SendTaskFailure. */
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;

const errorName = (error: unknown) => (error instanceof Error ? error.name : '');

/**
 * `arn:aws:states:r:a:stateMachine:Name` (or a version or alias of it, `…:Name:live`) + run id →
 * `arn:aws:states:r:a:execution:Name:runId`: an execution's ARN names no version or alias.
 */
export function executionArnFor(stateMachineArn: string, runId: string): string {
  const parts = stateMachineArn.split(':');
  if ((parts.length !== 7 && parts.length !== 8) || parts[5] !== 'stateMachine') {
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], runId].join(':');
}

/**
 * The Workflow port over Step Functions. One execution per run (name = run id), so a retried
 * start never makes a second run. Task tokens are passed through and never logged or put in
 * error messages.
 */
export class SfnWorkflow implements Workflow {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async startRun(runId: string, input: Record<string, unknown>): Promise<StartRunResult> {
    try {
      const output = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: runId,
          input: JSON.stringify(input),
        }),
      );
      if (!output.executionArn) throw new Error(`StartExecution for run ${runId} returned no executionArn`);
      return { executionArn: output.executionArn, started: true };
    } catch (error) {
      if (errorName(error) !== 'ExecutionAlreadyExists') throw error;
      // The run's execution exists (a retried start): confirm it and hand back its ARN.
      const existing = await this.client.send(
        new DescribeExecutionCommand({ executionArn: executionArnFor(this.stateMachineArn, runId) }),
      );
      if (!existing.executionArn) throw error;
      return { executionArn: existing.executionArn, started: false };
    }
  }

  /** Stopping a run whose execution never started (or already ended) is a no-op. */
  async stopRun(runId: string, error: string, cause: string): Promise<void> {
    try {
      await this.client.send(
        new StopExecutionCommand({
          executionArn: executionArnFor(this.stateMachineArn, runId),
          error: error.slice(0, MAX_ERROR_CHARS),
          cause: cause.slice(0, MAX_CAUSE_CHARS),
        }),
      );
    } catch (failure) {
      if (errorName(failure) !== 'ExecutionDoesNotExist') throw failure;
    }
  }

  sendTaskSuccess(taskToken: string, output: unknown): Promise<boolean> {
    return this.answer(
      new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output === undefined ? null : output) }),
    );
  }

  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<boolean> {
    return this.answer(
      new SendTaskFailureCommand({
        taskToken,
        error: error.slice(0, MAX_ERROR_CHARS),
        cause: cause.slice(0, MAX_CAUSE_CHARS),
      }),
    );
  }

  sendTaskHeartbeat(taskToken: string): Promise<boolean> {
    return this.answer(new SendTaskHeartbeatCommand({ taskToken }));
  }

  /** true when Step Functions took the answer; false when the token is unknown, expired or spent. */
  private async answer(
    command: SendTaskSuccessCommand | SendTaskFailureCommand | SendTaskHeartbeatCommand,
  ): Promise<boolean> {
    try {
      // One union-typed send: the SDK's overloads need a concrete command type.
      await this.client.send(command as SendTaskHeartbeatCommand);
      return true;
    } catch (error) {
      if (SPENT_TOKEN_ERRORS.has(errorName(error))) return false;
      throw error;
    }
  }
}
