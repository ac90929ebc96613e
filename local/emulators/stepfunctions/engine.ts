// aws-local-stepfunctions 3 needs Promise.withResolvers, which Node 20 lacks.
import '../../polyfills';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { AwsServiceError } from '../loopback';
import { TaskError, UncatchableTaskError } from './errors';
import { type BoundResource, bindResource, type IntegrationClients, invokeIntegration } from './integrations';
import {
  ExecutionFiles,
  type ExecutionRecord,
  type ExecutionStatus,
  type HistoryEventRecord,
} from './persistence';
import { TaskTokens } from './tokens';

export type { ExecutionRecord, ExecutionStatus, HistoryEventRecord } from './persistence';
export type { LambdaHandler } from './integrations';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/** setTimeout overflows past 2^31-1 ms (~24.8 days) and would fire at once: longer waits are clamped. */
const MAX_TIMER_SECONDS = Math.floor(0x7fffffff / 1000);
/** AWS caps an execution's history at 25,000 events; so does this engine (every loop bounded). */
const MAX_HISTORY_EVENTS = 25_000;
/** AWS's execution input / task output limit. */
const MAX_PAYLOAD_BYTES = 256 * 1024;
const RESTARTED_ERROR = 'LocalEngineRestarted';
/**
 * aws-local-stepfunctions evaluates TimeoutSecondsPath against the Task's Parameters output, not
 * its input as AWS does. The engine rewrites each such path into a Parameters field (evaluated
 * against the state input, as on AWS) and points the path at it; the field is removed again
 * before the integration sees the Parameters.
 */
const TIMEOUT_FIELD = '__localTimeoutSeconds';
const HEARTBEAT_FIELD = '__localHeartbeatSeconds';

/**
 * Replaces every `${Name}` in ASL text with its value (JSON-string escaped, as the placeholders
 * sit inside JSON strings). Throws when a placeholder has no value: a half-substituted state
 * machine must never run.
 */
export function substitute(asl: string, values: Record<string, string>): string {
  const missing = new Set<string>();
  const text = asl.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return placeholder;
    }
    return JSON.stringify(value).slice(1, -1);
  });
  if (missing.size > 0) throw new Error(`unresolved ASL placeholders: ${[...missing].join(', ')}`);
  return text;
}

export interface StateMachineSpec {
  name: string;
  /** ASL text or object, placeholders already substituted. */
  definition: string | Record<string, unknown>;
  roleArn?: string;
}

export interface EngineOptions extends IntegrationClients {
  stateMachines: StateMachineSpec[];
  /** Execution records persist here; omitted = in memory. */
  dataDir?: string;
  /** Called once per execution when it reaches a terminal status (also for restart failures). */
  onExecutionEnd?: (record: ExecutionRecord) => void | Promise<void>;
  log?: (message: string, extra?: Record<string, unknown>) => void;
  /** Run asl-validator on each definition at start (default true; it costs ~0.5 s per machine). */
  validateDefinitions?: boolean;
}

type AslState = Record<string, unknown> & { Type?: string };
interface TaskSpec {
  resource: string;
  bound: BoundResource | undefined;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
  /** TimeoutSecondsPath / HeartbeatSecondsPath, resolved through injected Parameters fields. */
  timeoutFromInput?: boolean;
  heartbeatFromInput?: boolean;
}
interface RegisteredMachine {
  name: string;
  arn: string;
  roleArn: string;
  definitionText: string;
  createdAt: number;
  machine: StateMachine;
  tasks: Map<string, TaskSpec>;
}

/** One Task invocation in flight. */
interface ActiveTask {
  settled: boolean;
  timers: NodeJS.Timeout[];
  token?: string;
  /** Rejects a callback wait (stop, shutdown). */
  abandon?: (error: Error) => void;
}

interface RunningExecution {
  record: ExecutionRecord;
  machine: RegisteredMachine;
  tasks: Set<ActiveTask>;
  abort?: () => void;
}

type LibraryRun = ReturnType<StateMachine['run']>;
type LibraryEvent = LibraryRun['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/**
 * Step Functions on this machine: aws-local-stepfunctions runs the ASL; every Task state is bound
 * to a local integration by its Resource (see integrations.ts), with callback tokens, Task and
 * heartbeat timeouts, stop, an AWS-shaped history and optional persistence.
 */
export class StepFunctionsEngine {
  private readonly machines = new Map<string, RegisteredMachine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, RunningExecution>();
  private readonly tokens = new TaskTokens();
  private readonly files: ExecutionFiles | undefined;
  private readonly log: NonNullable<EngineOptions['log']>;
  /** Stands in for `$$.Task.Token` in the context; each callback task swaps in its own real token. */
  private readonly tokenPlaceholder = `local-sfn-task-token-${randomUUID()}`;
  private closing = false;

  constructor(private readonly options: EngineOptions) {
    this.log = options.log ?? ((message, extra) => console.warn(`[stepfunctions] ${message}`, extra ?? ''));
    for (const spec of options.stateMachines) this.register(spec);
    this.files = options.dataDir ? new ExecutionFiles(options.dataDir) : undefined;
  }

  /** Loads persisted executions; those left RUNNING by a previous process end FAILED, never stuck. */
  async init(): Promise<void> {
    if (!this.files) return;
    const records = this.files.loadAll((file, error) =>
      this.log('skipping an unreadable execution record', { file, error: String(error) }),
    );
    const interrupted: ExecutionRecord[] = [];
    for (const record of records) {
      this.executions.set(record.executionArn, record);
      if (record.status === 'RUNNING') interrupted.push(record);
    }
    for (const record of interrupted) {
      const cause = 'The local Step Functions engine restarted while this execution was running';
      this.appendEvent(record, 'ExecutionFailed', 'executionFailedEventDetails', {
        error: RESTARTED_ERROR,
        cause,
      });
      Object.assign(record, { status: 'FAILED', error: RESTARTED_ERROR, cause, stopDate: Date.now() });
      await this.files.save(record);
      await this.notifyEnd(record);
    }
  }

  // -------------------------------------------------------------------------------------------
  // State machines
  // -------------------------------------------------------------------------------------------
  stateMachineArn(name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
  }

  listStateMachines(): Array<Pick<RegisteredMachine, 'name' | 'arn' | 'createdAt'>> {
    return [...this.machines.values()].map(({ name, arn, createdAt }) => ({ name, arn, createdAt }));
  }

  describeStateMachine(arn: string): RegisteredMachine {
    return this.machineByArn(arn);
  }

  private register(spec: StateMachineSpec): void {
    const definitionText =
      typeof spec.definition === 'string' ? spec.definition : JSON.stringify(spec.definition, null, 2);
    const parsed = JSON.parse(definitionText) as StateMachineDefinition;
    const tasks = new Map<string, TaskSpec>();
    const prepared = prepareDefinition(parsed, tasks);
    for (const [stateName, task] of tasks) {
      if (!task.bound)
        this.log('Task resource has no local integration', { stateName, resource: task.resource });
    }
    const arn = this.stateMachineArn(spec.name);
    this.machines.set(arn, {
      name: spec.name,
      arn,
      roleArn: spec.roleArn ?? `arn:aws:iam::${LOCAL_ACCOUNT}:role/local-stepfunctions`,
      definitionText,
      createdAt: Date.now(),
      machine: new StateMachine(prepared, {
        validationOptions: { noValidate: this.options.validateDefinitions === false },
      }),
      tasks,
    });
  }

  private machineByArn(arn: string): RegisteredMachine {
    const machine = this.machines.get(arn);
    if (machine) return machine;
    // An ARN of another resource type (an execution's, say) is invalid here, as on AWS.
    if (!/^arn:aws:states:[^:]*:[^:]*:stateMachine:[^:]+$/.test(arn))
      throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  }

  // -------------------------------------------------------------------------------------------
  // Executions
  // -------------------------------------------------------------------------------------------
  startExecution(
    stateMachineArn: string,
    name?: string,
    input?: string,
  ): { executionArn: string; startDate: number } {
    if (this.closing) throw new AwsServiceError('ServiceUnavailable', 'the engine is shutting down', 503);
    const machine = this.machineByArn(stateMachineArn);
    const executionName = name ?? randomUUID();
    validateExecutionName(executionName);
    const inputText = input ?? '{}';
    if (Buffer.byteLength(inputText) > MAX_PAYLOAD_BYTES) {
      throw new AwsServiceError('InvalidExecutionInput', 'Execution input exceeds the 262144 byte limit');
    }
    const parsedInput = parseJson(inputText, 'InvalidExecutionInput', 'Invalid execution input');
    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${machine.name}:${executionName}`;

    const existing = this.executions.get(executionArn);
    if (existing) {
      // As on AWS (Standard): idempotent only while running and with the same input.
      if (existing.status === 'RUNNING' && existing.input === inputText) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      stateMachineName: machine.name,
      name: executionName,
      status: 'RUNNING',
      input: inputText,
      startDate: Date.now(),
      history: [],
    };
    this.executions.set(executionArn, record);
    const execution: RunningExecution = { record, machine, tasks: new Set() };
    this.running.set(executionArn, execution);
    this.appendEvent(record, 'ExecutionStarted', 'executionStartedEventDetails', {
      input: inputText,
      inputDetails: { truncated: false },
      roleArn: machine.roleArn,
    });
    this.files?.markDirty(record);

    const handlers: Record<string, (input: unknown) => Promise<never>> = {};
    for (const [stateName, task] of machine.tasks) {
      handlers[stateName] = (taskInput) =>
        this.runTask(execution, stateName, task, taskInput) as Promise<never>;
    }
    const run = machine.machine.run(parsedInput as never, {
      noThrowOnAbort: true,
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: { Id: executionArn, Name: executionName, RoleArn: machine.roleArn },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: this.tokenPlaceholder },
      },
    });
    execution.abort = run.abort;
    // The outcome is read from the event log (ordered with the history); this only absorbs it.
    run.result.catch(() => undefined);
    void this.consumeEvents(execution, run.eventLogs);
    return { executionArn, startDate: record.startDate };
  }

  describeExecution(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (record) return record;
    if (!/^arn:aws:states:[^:]*:[^:]*:execution:[^:]+:[^:]+$/.test(executionArn)) {
      throw new AwsServiceError('InvalidArn', `Invalid Arn: '${executionArn}'`);
    }
    throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
  }

  listExecutions(stateMachineArn: string, statusFilter?: ExecutionStatus): ExecutionRecord[] {
    this.machineByArn(stateMachineArn);
    return [...this.executions.values()]
      .filter((r) => r.stateMachineArn === stateMachineArn && (!statusFilter || r.status === statusFilter))
      .sort((a, b) => b.startDate - a.startDate);
  }

  /** StopExecution: the execution is ABORTED at once; its pending callback tokens stop working. */
  async stopExecution(executionArn: string, error?: string, cause?: string): Promise<number> {
    const record = this.describeExecution(executionArn);
    const execution = this.running.get(executionArn);
    if (!execution || record.status !== 'RUNNING') return record.stopDate ?? Date.now();
    const failure = { ...(error !== undefined && { error }), ...(cause !== undefined && { cause }) };
    // finish() marks the record ABORTED synchronously; abort the engine before its callbacks run.
    const finished = this.finish(execution, 'ABORTED', {
      type: 'ExecutionAborted',
      detailsKey: 'executionAbortedEventDetails',
      details: failure,
      fields: failure,
    });
    execution.abort?.();
    await finished;
    return record.stopDate ?? Date.now();
  }

  // -------------------------------------------------------------------------------------------
  // Callback answers
  // -------------------------------------------------------------------------------------------
  sendTaskSuccess(taskToken: string, output: string): void {
    if (typeof output !== 'string' || output.length === 0) {
      throw new AwsServiceError('InvalidOutput', 'Invalid output: it must be a JSON text');
    }
    if (Buffer.byteLength(output) > MAX_PAYLOAD_BYTES) {
      throw new AwsServiceError('InvalidOutput', 'Task output exceeds the 262144 byte limit');
    }
    const parsed = parseJson(output, 'InvalidOutput', 'Invalid output');
    this.tokens.take(taskToken).succeed(parsed);
  }

  sendTaskFailure(taskToken: string, error?: string, cause?: string): void {
    this.tokens.take(taskToken).fail(error ?? '', cause ?? '');
  }

  sendTaskHeartbeat(taskToken: string): void {
    this.tokens.peek(taskToken).heartbeat();
  }

  /**
   * Stops every running execution without ending it: on disk they stay RUNNING, so the next
   * start with the same data dir ends them FAILED `LocalEngineRestarted`.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const execution of this.running.values()) {
      for (const task of [...execution.tasks]) {
        this.settleTask(execution, task);
        task.abandon?.(new UncatchableTaskError('States.Runtime', 'the local engine is shutting down'));
      }
      execution.abort?.();
    }
    this.running.clear();
    await this.files?.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Tasks
  // -------------------------------------------------------------------------------------------
  private async runTask(
    execution: RunningExecution,
    stateName: string,
    task: TaskSpec,
    input: unknown,
  ): Promise<unknown> {
    const active: ActiveTask = { settled: false, timers: [] };
    execution.tasks.add(active);
    const bound = task.bound;
    const resourceFields = bound
      ? { resourceType: bound.resourceType, resource: bound.resource }
      : { resourceType: 'unknown', resource: task.resource };
    const { parameters: taskInput, timeoutSeconds, heartbeatSeconds } = resolveTimeouts(task, input);
    const deadline = timeoutSeconds === undefined ? undefined : Date.now() + timeoutSeconds * 1000;

    // Armed before the engine's own Task timer (same delay, created after this call returns), so
    // it fires first: it records TaskTimedOut and spends the token; the engine then raises its
    // States.Timeout (which, unlike ours, States.TaskFailed does not match, as on AWS).
    if (timeoutSeconds !== undefined) {
      active.timers.push(
        setTimeout(() => {
          if (active.settled) return;
          this.settleTask(execution, active);
          this.appendTaskEvent(execution, 'TaskTimedOut', 'taskTimedOutEventDetails', {
            ...resourceFields,
            error: 'States.Timeout',
            cause: `Task did not complete within ${timeoutSeconds} seconds`,
          });
        }, timeoutSeconds * 1000),
      );
    }

    // The engine dispatched this state's StateEntered just before calling us; let the history
    // consumer record it first so Task events follow it.
    await nextTurn();
    if (active.settled || execution.record.status !== 'RUNNING') {
      this.settleTask(execution, active);
      throw new UncatchableTaskError('States.Runtime', 'the execution is no longer running');
    }

    if (!bound) {
      const cause = `Task state '${stateName}' uses the resource '${task.resource}', which the local engine cannot run (supported: lambda:invoke, sqs:sendMessage, each optionally .waitForTaskToken, and dynamodb:putItem|updateItem|getItem|deleteItem)`;
      this.settleTask(execution, active);
      throw new UncatchableTaskError('States.Runtime', cause);
    }

    if (!bound.callback) {
      this.appendTaskScheduled(execution, resourceFields, taskInput, timeoutSeconds, heartbeatSeconds);
      this.appendTaskEvent(execution, 'TaskStarted', 'taskStartedEventDetails', resourceFields);
      try {
        const output = await invokeIntegration(bound, taskInput, this.options, deadline ? { deadline } : {});
        // As on AWS: a result over the payload limit fails the execution, past any States.ALL.
        if (Buffer.byteLength(JSON.stringify(output) ?? '') > MAX_PAYLOAD_BYTES) {
          throw new UncatchableTaskError(
            'States.DataLimitExceeded',
            `the state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit (262144)`,
          );
        }
        if (!active.settled) {
          this.settleTask(execution, active);
          this.appendTaskEvent(execution, 'TaskSucceeded', 'taskSucceededEventDetails', {
            ...resourceFields,
            output: JSON.stringify(output),
          });
        }
        return output;
      } catch (error) {
        throw this.taskFailed(execution, active, resourceFields, error);
      }
    }

    let settleAnswer!: { resolve: (value: unknown) => void; reject: (error: Error) => void };
    const answerPromise = new Promise<unknown>((resolve, reject) => {
      settleAnswer = { resolve, reject };
    });
    // Marked handled: a wait abandoned before the engine awaits it must not be an unhandled rejection.
    answerPromise.catch(() => undefined);
    const answer = { promise: answerPromise, ...settleAnswer };
    active.abandon = answer.reject;
    const token = this.tokens.issue({
      executionArn: execution.record.executionArn,
      succeed: (output) => {
        if (active.settled) return;
        this.settleTask(execution, active);
        this.appendTaskEvent(execution, 'TaskSucceeded', 'taskSucceededEventDetails', {
          ...resourceFields,
          output: JSON.stringify(output),
        });
        answer.resolve(output);
      },
      fail: (error, cause) => {
        if (active.settled) return;
        this.settleTask(execution, active);
        this.appendTaskEvent(execution, 'TaskFailed', 'taskFailedEventDetails', {
          ...resourceFields,
          error,
          cause,
        });
        answer.reject(new TaskError(error, cause));
      },
      heartbeat: () => {
        if (!active.settled && heartbeatSeconds !== undefined) armHeartbeat();
      },
    });
    active.token = token;
    let heartbeatTimer: NodeJS.Timeout | undefined;
    const armHeartbeat = () => {
      if (heartbeatTimer) {
        clearTimeout(heartbeatTimer);
        active.timers = active.timers.filter((t) => t !== heartbeatTimer);
      }
      const seconds = heartbeatSeconds ?? MAX_TIMER_SECONDS;
      heartbeatTimer = setTimeout(() => {
        if (active.settled) return;
        this.settleTask(execution, active);
        const cause = `No heartbeat received within ${seconds} seconds`;
        this.appendTaskEvent(execution, 'TaskTimedOut', 'taskTimedOutEventDetails', {
          ...resourceFields,
          error: 'States.HeartbeatTimeout',
          cause,
        });
        answer.reject(new TaskError('States.HeartbeatTimeout', cause));
      }, seconds * 1000);
      active.timers.push(heartbeatTimer);
    };

    const parameters = replaceText(taskInput, this.tokenPlaceholder, token);
    this.appendTaskScheduled(execution, resourceFields, parameters, timeoutSeconds, heartbeatSeconds);
    this.appendTaskEvent(execution, 'TaskStarted', 'taskStartedEventDetails', resourceFields);
    if (heartbeatSeconds !== undefined) armHeartbeat();
    try {
      const submitted = await invokeIntegration(
        bound,
        parameters,
        this.options,
        deadline ? { deadline } : {},
      );
      if (!active.settled) {
        this.appendTaskEvent(execution, 'TaskSubmitted', 'taskSubmittedEventDetails', {
          ...resourceFields,
          output: JSON.stringify(submitted),
        });
      }
    } catch (error) {
      throw this.taskFailed(execution, active, resourceFields, error);
    }
    return answer.promise;
  }

  private taskFailed(
    execution: RunningExecution,
    active: ActiveTask,
    resourceFields: Record<string, string>,
    error: unknown,
  ): Error {
    const failure =
      error instanceof TaskError
        ? error
        : new TaskError('States.TaskFailed', error instanceof Error ? error.message : String(error));
    if (!active.settled) {
      this.settleTask(execution, active);
      this.appendTaskEvent(execution, 'TaskFailed', 'taskFailedEventDetails', {
        ...resourceFields,
        error: failure.name,
        cause: failure.message,
      });
    }
    return failure;
  }

  private settleTask(execution: RunningExecution, active: ActiveTask): void {
    active.settled = true;
    for (const timer of active.timers) clearTimeout(timer);
    active.timers = [];
    if (active.token) this.tokens.finish(active.token);
    execution.tasks.delete(active);
  }

  private appendTaskScheduled(
    execution: RunningExecution,
    resourceFields: Record<string, string>,
    parameters: unknown,
    timeoutSeconds: number | undefined,
    heartbeatSeconds: number | undefined,
  ): void {
    this.appendTaskEvent(execution, 'TaskScheduled', 'taskScheduledEventDetails', {
      ...resourceFields,
      region: LOCAL_REGION,
      parameters: JSON.stringify(parameters),
      ...(timeoutSeconds !== undefined && { timeoutInSeconds: timeoutSeconds }),
      ...(heartbeatSeconds !== undefined && { heartbeatInSeconds: heartbeatSeconds }),
    });
  }

  private appendTaskEvent(
    execution: RunningExecution,
    type: string,
    detailsKey: string,
    details: Record<string, unknown>,
  ): void {
    if (execution.record.status !== 'RUNNING' || this.closing) return;
    this.appendEvent(execution.record, type, detailsKey, details);
    this.afterAppend(execution);
  }

  // -------------------------------------------------------------------------------------------
  // History and terminal states
  // -------------------------------------------------------------------------------------------
  private async consumeEvents(
    execution: RunningExecution,
    events: AsyncGenerator<LibraryEvent>,
  ): Promise<void> {
    try {
      for await (const event of events) this.onLibraryEvent(execution, event);
    } catch (error) {
      this.log('history consumer failed', {
        executionArn: execution.record.executionArn,
        error: String(error),
      });
    }
  }

  private onLibraryEvent(execution: RunningExecution, event: LibraryEvent): void {
    if (this.closing || execution.record.status !== 'RUNNING') return;
    const record = execution.record;
    switch (event.type) {
      case 'StateEntered':
        this.appendEvent(record, `${event.state.type}StateEntered`, 'stateEnteredEventDetails', {
          name: event.state.name,
          input: JSON.stringify(event.state.input ?? null),
        });
        break;
      case 'StateExited':
        this.appendEvent(record, `${event.state.type}StateExited`, 'stateExitedEventDetails', {
          name: event.state.name,
          output: JSON.stringify(event.state.output ?? null),
        });
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const detailsKey = `${event.type.charAt(0).toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.appendEvent(record, event.type, detailsKey, {
          name: event.parentState.name,
          index: event.index,
        });
        break;
      }
      case 'ExecutionSucceeded': {
        const output = JSON.stringify(event.output ?? null);
        void this.finish(execution, 'SUCCEEDED', {
          type: 'ExecutionSucceeded',
          detailsKey: 'executionSucceededEventDetails',
          details: { output, outputDetails: { truncated: false } },
          fields: { output },
        });
        return;
      }
      case 'ExecutionFailed': {
        const failure = {
          error: event.Error,
          cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause),
        };
        void this.finish(execution, 'FAILED', {
          type: 'ExecutionFailed',
          detailsKey: 'executionFailedEventDetails',
          details: failure,
          fields: failure,
        });
        return;
      }
      case 'ExecutionTimeout': {
        const failure = { error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds' };
        void this.finish(execution, 'TIMED_OUT', {
          type: 'ExecutionTimedOut',
          detailsKey: 'executionTimedOutEventDetails',
          details: failure,
          fields: failure,
        });
        return;
      }
      default:
        // ExecutionStarted is recorded by startExecution; retries/catches show as Task events.
        return;
    }
    this.afterAppend(execution);
  }

  private afterAppend(execution: RunningExecution): void {
    const record = execution.record;
    if (record.history.length >= MAX_HISTORY_EVENTS - 1) {
      const failure = {
        error: 'States.Runtime',
        cause: `The execution reached the ${MAX_HISTORY_EVENTS} event limit`,
      };
      void this.finish(execution, 'FAILED', {
        type: 'ExecutionFailed',
        detailsKey: 'executionFailedEventDetails',
        details: failure,
        fields: failure,
      });
      execution.abort?.();
      return;
    }
    this.files?.markDirty(record);
  }

  private async finish(
    execution: RunningExecution,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    end: {
      type: string;
      detailsKey: string;
      details: Record<string, unknown>;
      fields: Partial<Pick<ExecutionRecord, 'output' | 'error' | 'cause'>>;
    },
  ): Promise<void> {
    const record = execution.record;
    if (record.status !== 'RUNNING' || this.closing) return;
    this.appendEvent(record, end.type, end.detailsKey, end.details);
    Object.assign(record, end.fields, { status, stopDate: Date.now() });
    this.running.delete(record.executionArn);
    for (const task of [...execution.tasks]) {
      this.settleTask(execution, task);
      task.abandon?.(new UncatchableTaskError('States.Runtime', `the execution ended ${status}`));
    }
    try {
      await this.files?.save(record);
    } catch (error) {
      this.log('could not persist an execution record', {
        executionArn: record.executionArn,
        error: String(error),
      });
    }
    await this.notifyEnd(record);
  }

  private async notifyEnd(record: ExecutionRecord): Promise<void> {
    if (!this.options.onExecutionEnd) return;
    try {
      await this.options.onExecutionEnd(structuredClone(record));
    } catch (error) {
      this.log('onExecutionEnd hook failed', { executionArn: record.executionArn, error: String(error) });
    }
  }

  private appendEvent(
    record: ExecutionRecord,
    type: string,
    detailsKey: string | undefined,
    details: Record<string, unknown> | undefined,
  ): void {
    const previous = record.history.at(-1);
    const event: HistoryEventRecord = {
      id: (previous?.id ?? 0) + 1,
      previousEventId: previous?.id ?? 0,
      timestamp: Date.now(),
      type,
      ...(detailsKey && details && { detailsKey, details }),
    };
    record.history.push(event);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/**
 * A copy of the definition the engine can run, and every Task state's spec (by name: the engine's
 * override table is flat across Parallel branches and Map iterators, so names must be unique).
 * Tasks without TimeoutSeconds get the longest safe timer instead of the engine's silent 60 s
 * default (AWS has no short default); longer timeouts are clamped to what setTimeout can hold.
 */
function prepareDefinition(
  definition: StateMachineDefinition,
  tasks: Map<string, TaskSpec>,
): StateMachineDefinition {
  const copy = JSON.parse(JSON.stringify(definition)) as StateMachineDefinition & Record<string, unknown>;
  if (typeof copy.TimeoutSeconds === 'number')
    copy.TimeoutSeconds = Math.min(copy.TimeoutSeconds, MAX_TIMER_SECONDS);
  visitStates(copy.States as unknown as Record<string, AslState>, tasks);
  return copy;
}

function visitStates(states: Record<string, AslState>, tasks: Map<string, TaskSpec>): void {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') {
      if (tasks.has(name)) {
        throw new Error(`Task state name '${name}' is used twice; the local engine needs unique names`);
      }
      const timeoutSeconds =
        typeof state.TimeoutSeconds === 'number'
          ? Math.min(state.TimeoutSeconds, MAX_TIMER_SECONDS)
          : undefined;
      const heartbeatSeconds =
        typeof state.HeartbeatSeconds === 'number'
          ? Math.min(state.HeartbeatSeconds, MAX_TIMER_SECONDS)
          : undefined;
      const timeoutPath = typeof state.TimeoutSecondsPath === 'string' ? state.TimeoutSecondsPath : undefined;
      const heartbeatPath =
        typeof state.HeartbeatSecondsPath === 'string' ? state.HeartbeatSecondsPath : undefined;
      if (timeoutPath || heartbeatPath) {
        const parameters = state.Parameters;
        if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
          throw new Error(
            `Task state '${name}': a *SecondsPath needs an object of Parameters in the local engine`,
          );
        }
        const fields = parameters as Record<string, unknown>;
        if (timeoutPath) {
          fields[`${TIMEOUT_FIELD}.$`] = timeoutPath;
          state.TimeoutSecondsPath = `$.${TIMEOUT_FIELD}`;
        }
        if (heartbeatPath) {
          fields[`${HEARTBEAT_FIELD}.$`] = heartbeatPath;
          delete state.HeartbeatSecondsPath;
        }
      }
      const resource = String(state.Resource);
      tasks.set(name, {
        resource,
        bound: bindResource(resource),
        ...(timeoutSeconds !== undefined && { timeoutSeconds }),
        ...(heartbeatSeconds !== undefined && { heartbeatSeconds }),
        ...(timeoutPath !== undefined && { timeoutFromInput: true }),
        ...(heartbeatPath !== undefined && { heartbeatFromInput: true }),
      });
      if (!timeoutPath) state.TimeoutSeconds = timeoutSeconds ?? MAX_TIMER_SECONDS;
    }
    for (const branch of (state.Branches as Array<{ States: Record<string, AslState> }> | undefined) ?? []) {
      visitStates(branch.States, tasks);
    }
    for (const key of ['Iterator', 'ItemProcessor'] as const) {
      const nested = state[key] as { States?: Record<string, AslState> } | undefined;
      if (nested?.States) visitStates(nested.States, tasks);
    }
  }
}

/**
 * The Task's effective timeouts and its Parameters without the injected path fields. A resolved
 * TimeoutSecondsPath is clamped in place: the engine reads the same object right after this
 * handler returns, and setTimeout would fire at once on an overflowing value.
 */
function resolveTimeouts(
  task: TaskSpec,
  input: unknown,
): { parameters: unknown; timeoutSeconds?: number; heartbeatSeconds?: number } {
  let timeoutSeconds = task.timeoutSeconds;
  let heartbeatSeconds = task.heartbeatSeconds;
  if (!(task.timeoutFromInput || task.heartbeatFromInput) || input === null || typeof input !== 'object') {
    return { parameters: input, timeoutSeconds, heartbeatSeconds };
  }
  const fields = input as Record<string, unknown>;
  const positive = (value: unknown) =>
    typeof value === 'number' && value >= 1 ? Math.min(Math.floor(value), MAX_TIMER_SECONDS) : undefined;
  if (task.timeoutFromInput) {
    timeoutSeconds = positive(fields[TIMEOUT_FIELD]);
    if (timeoutSeconds !== undefined) fields[TIMEOUT_FIELD] = timeoutSeconds;
  }
  if (task.heartbeatFromInput) heartbeatSeconds = positive(fields[HEARTBEAT_FIELD]);
  const { [TIMEOUT_FIELD]: _timeout, [HEARTBEAT_FIELD]: _heartbeat, ...parameters } = fields;
  return {
    parameters,
    ...(timeoutSeconds !== undefined && { timeoutSeconds }),
    ...(heartbeatSeconds !== undefined && { heartbeatSeconds }),
  };
}

function replaceText(value: unknown, search: string, replacement: string): unknown {
  if (typeof value === 'string')
    return value.includes(search) ? value.split(search).join(replacement) : value;
  if (Array.isArray(value)) return value.map((item) => replaceText(item, search, replacement));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceText(item, search, replacement)]),
    );
  }
  return value;
}

function parseJson(text: string, errorCode: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AwsServiceError(errorCode, `${what}: not valid JSON`);
  }
}

/** AWS: 1-80 characters, no whitespace, brackets, wildcards, special or control characters. */
function validateExecutionName(name: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  const forbidden = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
  if (name.length < 1 || name.length > 80 || forbidden.test(name)) {
    throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
  }
}
