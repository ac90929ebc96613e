// aws-local-stepfunctions 3 needs Promise.withResolvers, which Node 20 lacks.
import '../../polyfills';
import { type AwsJsonOperations, AwsServiceError, serveAwsJson } from '../loopback';
import {
  type EngineOptions,
  type ExecutionRecord,
  type ExecutionStatus,
  StepFunctionsEngine,
} from './engine';

export { substitute } from './definition';
export type { ExecutionRecord, LambdaHandler, StateMachineSpec } from './engine';

export interface StepFunctionsOptions extends EngineOptions {
  /** 0 (default) = OS-chosen. Always bound to 127.0.0.1. */
  port?: number;
}

export interface StepFunctionsEmulator {
  /** http://127.0.0.1:<port>, for `AWS_ENDPOINT_URL_SFN` or an SFNClient's `endpoint`. */
  endpoint: string;
  stateMachineArn(name: string): string;
  engine: StepFunctionsEngine;
  close(): Promise<void>;
}

const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
];

type Body = Record<string, unknown>;

/** AWS JSON 1.0 timestamps are epoch seconds. */
const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function requireString(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: '${field}' must not be null`,
    );
  }
  return value;
}

function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new AwsServiceError('ValidationException', `'${field}' must be a string`);
  return value;
}

/** Offset paging with an opaque token; maxResults 1-1000 (AWS default 100). */
function paginate<T>(items: T[], body: Body): { page: T[]; nextToken?: string } {
  const asked = body.maxResults ?? 0;
  if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 0 || asked > 1000) {
    throw new AwsServiceError(
      'ValidationException',
      "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 0 and 1000",
    );
  }
  // 0 or absent: the default page size, as on AWS.
  const max = asked || 100;
  let offset = 0;
  const token = optionalString(body, 'nextToken');
  if (token) {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(decoded) || decoded < 0)
      throw new AwsServiceError('InvalidToken', 'Invalid nextToken');
    offset = decoded;
  }
  const page = items.slice(offset, offset + max);
  const next =
    offset + max < items.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined;
  return { page, ...(next && { nextToken: next }) };
}

function executionSummary(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: seconds(record.startDate),
    ...(record.stopDate !== undefined && { stopDate: seconds(record.stopDate) }),
  };
}

const operations = (engine: StepFunctionsEngine): AwsJsonOperations => ({
  StartExecution(body) {
    const started = engine.startExecution(
      requireString(body, 'stateMachineArn'),
      optionalString(body, 'name'),
      optionalString(body, 'input'),
    );
    return { executionArn: started.executionArn, startDate: seconds(started.startDate) };
  },
  DescribeExecution(body) {
    const record = engine.describeExecution(requireString(body, 'executionArn'));
    return {
      ...executionSummary(record),
      input: record.input,
      inputDetails: { included: true },
      ...(record.output !== undefined && { output: record.output, outputDetails: { included: true } }),
      ...(record.error !== undefined && { error: record.error }),
      ...(record.cause !== undefined && { cause: record.cause }),
    };
  },
  async StopExecution(body) {
    const stopDate = await engine.stopExecution(
      requireString(body, 'executionArn'),
      optionalString(body, 'error'),
      optionalString(body, 'cause'),
    );
    return { stopDate: seconds(stopDate) };
  },
  ListExecutions(body) {
    const statusFilter = optionalString(body, 'statusFilter');
    if (statusFilter !== undefined && !EXECUTION_STATUSES.includes(statusFilter as ExecutionStatus)) {
      throw new AwsServiceError('ValidationException', `Invalid statusFilter '${statusFilter}'`);
    }
    const records = engine.listExecutions(
      requireString(body, 'stateMachineArn'),
      statusFilter as ExecutionStatus | undefined,
    );
    const { page, nextToken } = paginate(records, body);
    return { executions: page.map(executionSummary), ...(nextToken && { nextToken }) };
  },
  GetExecutionHistory(body) {
    const record = engine.describeExecution(requireString(body, 'executionArn'));
    const events = body.reverseOrder === true ? [...record.history].reverse() : record.history;
    const { page, nextToken } = paginate(events, body);
    return {
      events: page.map((event) => ({
        id: event.id,
        previousEventId: event.previousEventId,
        timestamp: seconds(event.timestamp),
        type: event.type,
        ...(event.detailsKey && event.details && { [event.detailsKey]: event.details }),
      })),
      ...(nextToken && { nextToken }),
    };
  },
  ListStateMachines(body) {
    const { page, nextToken } = paginate(engine.listStateMachines(), body);
    return {
      stateMachines: page.map((machine) => ({
        stateMachineArn: machine.arn,
        name: machine.name,
        type: 'STANDARD',
        creationDate: seconds(machine.createdAt),
      })),
      ...(nextToken && { nextToken }),
    };
  },
  DescribeStateMachine(body) {
    const machine = engine.describeStateMachine(requireString(body, 'stateMachineArn'));
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: machine.definitionText,
      roleArn: machine.roleArn,
      type: 'STANDARD',
      creationDate: seconds(machine.createdAt),
    };
  },
  SendTaskSuccess(body) {
    // Missing output is a ValidationException; an empty one is not JSON (InvalidOutput), as on AWS.
    const output = body.output === '' ? '' : requireString(body, 'output');
    engine.sendTaskSuccess(requireString(body, 'taskToken'), output);
    return {};
  },
  SendTaskFailure(body) {
    engine.sendTaskFailure(
      requireString(body, 'taskToken'),
      optionalString(body, 'error'),
      optionalString(body, 'cause'),
    );
    return {};
  },
  SendTaskHeartbeat(body) {
    engine.sendTaskHeartbeat(requireString(body, 'taskToken'));
    return {};
  },
});

/**
 * Starts the local Step Functions endpoint on 127.0.0.1: the AWS JSON 1.0 protocol
 * (`X-Amz-Target: AWSStepFunctions.<Operation>`) that the real `@aws-sdk/client-sfn` speaks.
 */
export async function startStepFunctions(options: StepFunctionsOptions): Promise<StepFunctionsEmulator> {
  const engine = new StepFunctionsEngine(options);
  await engine.init();
  const server = await serveAwsJson({
    service: 'AWSStepFunctions',
    version: '1.0',
    operations: operations(engine),
    ...(options.port !== undefined && { port: options.port }),
    ...(options.log && { log: options.log }),
  });
  return {
    endpoint: server.endpoint,
    stateMachineArn: (name) => engine.stateMachineArn(name),
    engine,
    async close() {
      await engine.close();
      await server.close();
    },
  };
}
