// aws-local-stepfunctions 3 needs Promise.withResolvers, which Node 20 lacks.
import '../../polyfills';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { AwsServiceError } from '../loopback';
import { TaskError, UncatchableTaskError } from './errors';
import { prepareDefinition, resolveTimeouts, type TaskSpec } from './definition';
import { type IntegrationClients, invokeIntegration } from './integrations';
import { ExecutionFiles, type ExecutionRecord, type ExecutionStatus } from './persistence';
import { TaskTokens } from './tokens';

export type { ExecutionRecord, ExecutionStatus, HistoryEventRecord } from './persistence';
export type { LambdaHandler } from './integrations';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/** AWS caps an execution's history at 25,000 events; so does this engine (every loop bounded). */
const MAX_HISTORY_EVENTS = 25_000;
/** AWS's execution input / task output limit. */
const MAX_PAYLOAD_BYTES = 256 * 1024;
const RESTARTED_ERROR = 'LocalEngineRestarted';

export interface StateMachineSpec {
  name: string;
  /** ASL text or object, placeholders already substituted. */
  definition: string | Record<string, unknown>;
}

export interface EngineOptions extends IntegrationClients {
  stateMachines: StateMachineSpec[];
  /** Execution records persist here; omitted = in memory. */
  dataDir?: string;
  /** Called once per execution when it reaches a terminal status (also for restart failures). */
  onExecutionEnd?: (record: ExecutionRecord) => void | Promise<void>;
  log?: (message: string, extra?: Record<string, unknown>) => void;
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
    for (const record of records) this.executions.set(record.executionArn, record);
    for (const record of records.filter((r) => r.status === 'RUNNING')) {
      const cause = 'The local Step Functions engine restarted while this execution was running';
      await this.finish(record, 'FAILED', 'ExecutionFailed', { error: RESTARTED_ERROR, cause });
    }
  }

  // -------------------------------------------------------------------------------------------
  // State machines
  // -------------------------------------------------------------------------------------------
  stateMachineArn(name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
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
      roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/local-stepfunctions`,
      definitionText,
      createdAt: Date.now(),
      // aws-local-stepfunctions runs asl-validator on it (about 0.5 s a machine).
      machine: new StateMachine(prepared),
      tasks,
    });
  }

  listStateMachines(): RegisteredMachine[] {
    return [...this.machines.values()];
  }

  describeStateMachine(arn: string): RegisteredMachine {
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
    const machine = this.describeStateMachine(stateMachineArn);
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
    const execution: RunningExecution = { record, tasks: new Set() };
    this.running.set(executionArn, execution);
    this.appendEvent(record, 'ExecutionStarted', {
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
    this.describeStateMachine(stateMachineArn);
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
    const finished = this.finish(record, 'ABORTED', 'ExecutionAborted', failure);
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
    /** Ends the task once, with its last history event; false when it had ended already. */
    const end = (type: string, details: Record<string, unknown>): boolean => {
      if (active.settled) return false;
      this.settleTask(execution, active);
      this.appendTaskEvent(execution, type, { ...resourceFields, ...details });
      return true;
    };

    // Armed before the engine's own Task timer (same delay, created after this call returns), so
    // it fires first: it records TaskTimedOut and spends the token; the engine then raises its
    // States.Timeout (which, unlike ours, States.TaskFailed does not match, as on AWS).
    if (timeoutSeconds !== undefined) {
      const cause = `Task did not complete within ${timeoutSeconds} seconds`;
      const timer = setTimeout(
        () => end('TaskTimedOut', { error: 'States.Timeout', cause }),
        timeoutSeconds * 1000,
      );
      active.timers.push(timer);
    }

    // The engine dispatched this state's StateEntered just before calling us; let the history
    // consumer record it first so Task events follow it.
    await nextTurn();
    if (active.settled || execution.record.status !== 'RUNNING' || !bound) {
      this.settleTask(execution, active);
      const cause = bound
        ? 'the execution is no longer running'
        : `Task state '${stateName}' uses the resource '${task.resource}', which the local engine cannot run (supported: lambda:invoke, sqs:sendMessage, each optionally .waitForTaskToken, and dynamodb:putItem|updateItem|getItem|deleteItem)`;
      throw new UncatchableTaskError('States.Runtime', cause);
    }

    let parameters = taskInput;
    let answer: Promise<unknown> | undefined;
    if (bound.callback) {
      let resolve!: (value: unknown) => void;
      let reject!: (error: Error) => void;
      answer = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Marked handled: a wait abandoned before the engine awaits it must not be an unhandled rejection.
      answer.catch(() => undefined);
      active.abandon = reject;
      let heartbeatTimer: NodeJS.Timeout | undefined;
      const armHeartbeat = (seconds: number) => {
        clearTimeout(heartbeatTimer);
        active.timers = active.timers.filter((t) => t !== heartbeatTimer);
        const cause = `No heartbeat received within ${seconds} seconds`;
        heartbeatTimer = setTimeout(() => {
          if (end('TaskTimedOut', { error: 'States.HeartbeatTimeout', cause })) {
            reject(new TaskError('States.HeartbeatTimeout', cause));
          }
        }, seconds * 1000);
        active.timers.push(heartbeatTimer);
      };
      active.token = this.tokens.issue({
        succeed: (output) => {
          if (end('TaskSucceeded', { output: JSON.stringify(output) })) resolve(output);
        },
        fail: (error, cause) => {
          if (end('TaskFailed', { error, cause })) reject(new TaskError(error, cause));
        },
        heartbeat: () => {
          if (!active.settled && heartbeatSeconds !== undefined) armHeartbeat(heartbeatSeconds);
        },
      });
      parameters = replaceText(taskInput, this.tokenPlaceholder, active.token);
      if (heartbeatSeconds !== undefined) armHeartbeat(heartbeatSeconds);
    }

    this.appendTaskEvent(execution, 'TaskScheduled', {
      ...resourceFields,
      region: LOCAL_REGION,
      parameters: JSON.stringify(parameters),
      ...(timeoutSeconds !== undefined && { timeoutInSeconds: timeoutSeconds }),
      ...(heartbeatSeconds !== undefined && { heartbeatInSeconds: heartbeatSeconds }),
    });
    this.appendTaskEvent(execution, 'TaskStarted', resourceFields);
    let output: unknown;
    try {
      output = await invokeIntegration(bound, parameters, this.options, deadline ? { deadline } : {});
      // As on AWS: a result over the payload limit fails the execution, past any States.ALL.
      if (!answer && Buffer.byteLength(JSON.stringify(output) ?? '') > MAX_PAYLOAD_BYTES) {
        throw new UncatchableTaskError(
          'States.DataLimitExceeded',
          `the state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit (262144)`,
        );
      }
    } catch (error) {
      const failure =
        error instanceof TaskError
          ? error
          : new TaskError('States.TaskFailed', error instanceof Error ? error.message : String(error));
      end('TaskFailed', { error: failure.name, cause: failure.message });
      throw failure;
    }
    if (!answer) {
      end('TaskSucceeded', { output: JSON.stringify(output) });
      return output;
    }
    if (!active.settled) {
      this.appendTaskEvent(execution, 'TaskSubmitted', { ...resourceFields, output: JSON.stringify(output) });
    }
    return answer;
  }

  private settleTask(execution: RunningExecution, active: ActiveTask): void {
    active.settled = true;
    for (const timer of active.timers) clearTimeout(timer);
    active.timers = [];
    if (active.token) this.tokens.finish(active.token);
    execution.tasks.delete(active);
  }

  private appendTaskEvent(execution: RunningExecution, type: string, details: Record<string, unknown>): void {
    if (execution.record.status !== 'RUNNING' || this.closing) return;
    this.appendEvent(execution.record, type, details);
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
      case 'StateExited': {
        const { type, name, input, output } = event.state;
        const [suffix, field, value] =
          event.type === 'StateEntered' ? ['Entered', 'input', input] : ['Exited', 'output', output];
        const details = { name, [field]: JSON.stringify(value ?? null) };
        this.appendEvent(record, `${type}State${suffix}`, details, `state${suffix}EventDetails`);
        break;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.appendEvent(record, event.type, { name: event.parentState.name, index: event.index });
        break;
      case 'ExecutionSucceeded': {
        const output = JSON.stringify(event.output ?? null);
        const details = { output, outputDetails: { truncated: false } };
        void this.finish(record, 'SUCCEEDED', 'ExecutionSucceeded', details, { output });
        return;
      }
      case 'ExecutionFailed': {
        const cause = typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause);
        void this.finish(record, 'FAILED', 'ExecutionFailed', { error: event.Error, cause });
        return;
      }
      case 'ExecutionTimeout': {
        const failure = { error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds' };
        void this.finish(record, 'TIMED_OUT', 'ExecutionTimedOut', failure);
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
      const cause = `The execution reached the ${MAX_HISTORY_EVENTS} event limit`;
      void this.finish(record, 'FAILED', 'ExecutionFailed', { error: 'States.Runtime', cause });
      execution.abort?.();
      return;
    }
    this.files?.markDirty(record);
  }

  /**
   * Ends a running execution: its last history event, the record's terminal fields (`fields`,
   * the event's details by default), its tasks abandoned, the record saved, onExecutionEnd told.
   */
  private async finish(
    record: ExecutionRecord,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    type: string,
    details: Record<string, unknown>,
    fields: Partial<Pick<ExecutionRecord, 'output' | 'error' | 'cause'>> = details,
  ): Promise<void> {
    if (record.status !== 'RUNNING' || this.closing) return;
    this.appendEvent(record, type, details);
    Object.assign(record, fields, { status, stopDate: Date.now() });
    const execution = this.running.get(record.executionArn);
    this.running.delete(record.executionArn);
    for (const task of [...(execution?.tasks ?? [])]) {
      if (execution) this.settleTask(execution, task);
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
    if (!this.options.onExecutionEnd) return;
    try {
      await this.options.onExecutionEnd(structuredClone(record));
    } catch (error) {
      this.log('onExecutionEnd hook failed', { executionArn: record.executionArn, error: String(error) });
    }
  }

  /** `detailsKey` names the AWS field the details go in: `taskFailedEventDetails` for TaskFailed. */
  private appendEvent(
    record: ExecutionRecord,
    type: string,
    details: Record<string, unknown>,
    detailsKey = `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`,
  ): void {
    const previous = record.history.at(-1);
    record.history.push({
      id: (previous?.id ?? 0) + 1,
      previousEventId: previous?.id ?? 0,
      timestamp: Date.now(),
      type,
      detailsKey,
      details,
    });
  }
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
