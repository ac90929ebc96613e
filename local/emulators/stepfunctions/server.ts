// aws-local-stepfunctions 3 needs Promise.withResolvers, which Node 20 lacks.
import '../../polyfills';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  type EngineOptions,
  type ExecutionRecord,
  type ExecutionStatus,
  type LambdaHandler,
  type StateMachineSpec,
  StepFunctionsEngine,
} from './engine';
import { SfnServiceError } from './errors';

export { substitute } from './engine';
export type { ExecutionRecord, LambdaHandler, StateMachineSpec } from './engine';

export interface StepFunctionsOptions {
  /** 0 (default) = OS-chosen. Always bound to 127.0.0.1. */
  port?: number;
  /** Persist execution records here; omitted = in memory. */
  dataDir?: string;
  stateMachines: StateMachineSpec[];
  /** Local Lambda handlers by function ARN, for `lambda:invoke`. */
  lambdas: Record<string, LambdaHandler>;
  sqsClient?: SQSClient;
  dynamoClient?: DynamoDBClient;
  onExecutionEnd?: EngineOptions['onExecutionEnd'];
  log?: EngineOptions['log'];
  lambdaTimeoutMs?: number;
  /** Run asl-validator on each definition at start (default true; ~0.5 s per state machine). */
  validateDefinitions?: boolean;
}

export interface StepFunctionsEmulator {
  /** http://127.0.0.1:<port>, for `AWS_ENDPOINT_URL_SFN` or an SFNClient's `endpoint`. */
  endpoint: string;
  stateMachineArn(name: string): string;
  engine: StepFunctionsEngine;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const TARGET_PREFIX = 'AWSStepFunctions.';
const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
];

type Body = Record<string, unknown>;
type Operation = (engine: StepFunctionsEngine, body: Body) => unknown | Promise<unknown>;

/** AWS JSON 1.0 timestamps are epoch seconds. */
const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function requireString(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new SfnServiceError(
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
    throw new SfnServiceError('ValidationException', `'${field}' must be a string`);
  return value;
}

/** Offset paging with an opaque token; maxResults 1-1000 (AWS default 100). */
function paginate<T>(items: T[], body: Body): { page: T[]; nextToken?: string } {
  const asked = body.maxResults;
  if (
    asked !== undefined &&
    asked !== null &&
    (!Number.isInteger(asked) || (asked as number) < 0 || (asked as number) > 1000)
  ) {
    throw new SfnServiceError(
      'ValidationException',
      "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 0 and 1000",
    );
  }
  // 0 or absent: the default page size, as on AWS.
  const max = typeof asked === 'number' && asked > 0 ? asked : 100;
  let offset = 0;
  const token = optionalString(body, 'nextToken');
  if (token) {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(decoded) || decoded < 0)
      throw new SfnServiceError('InvalidToken', 'Invalid nextToken');
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

const operations: Record<string, Operation> = {
  StartExecution(engine, body) {
    const started = engine.startExecution(
      requireString(body, 'stateMachineArn'),
      optionalString(body, 'name'),
      optionalString(body, 'input'),
    );
    return { executionArn: started.executionArn, startDate: seconds(started.startDate) };
  },
  DescribeExecution(engine, body) {
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
  async StopExecution(engine, body) {
    const stopDate = await engine.stopExecution(
      requireString(body, 'executionArn'),
      optionalString(body, 'error'),
      optionalString(body, 'cause'),
    );
    return { stopDate: seconds(stopDate) };
  },
  ListExecutions(engine, body) {
    const statusFilter = optionalString(body, 'statusFilter');
    if (statusFilter !== undefined && !EXECUTION_STATUSES.includes(statusFilter as ExecutionStatus)) {
      throw new SfnServiceError('ValidationException', `Invalid statusFilter '${statusFilter}'`);
    }
    const records = engine.listExecutions(
      requireString(body, 'stateMachineArn'),
      statusFilter as ExecutionStatus | undefined,
    );
    const { page, nextToken } = paginate(records, body);
    return { executions: page.map(executionSummary), ...(nextToken && { nextToken }) };
  },
  GetExecutionHistory(engine, body) {
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
  ListStateMachines(engine, body) {
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
  DescribeStateMachine(engine, body) {
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
  SendTaskSuccess(engine, body) {
    // Missing output is a ValidationException; an empty one is not JSON (InvalidOutput), as on AWS.
    const output = body.output === '' ? '' : requireString(body, 'output');
    engine.sendTaskSuccess(requireString(body, 'taskToken'), output);
    return {};
  },
  SendTaskFailure(engine, body) {
    engine.sendTaskFailure(
      requireString(body, 'taskToken'),
      optionalString(body, 'error'),
      optionalString(body, 'cause'),
    );
    return {};
  },
  SendTaskHeartbeat(engine, body) {
    engine.sendTaskHeartbeat(requireString(body, 'taskToken'));
    return {};
  },
};

async function readBody(request: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new SfnServiceError('ValidationException', 'request body too large', 413);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SfnServiceError('SerializationException', 'request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SfnServiceError('SerializationException', 'request body must be a JSON object');
  }
  return parsed as Body;
}

function send(response: ServerResponse, status: number, payload: unknown, errorType?: string): void {
  const text = JSON.stringify(payload);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType && { 'x-amzn-errortype': errorType }),
  });
  response.end(text);
}

/**
 * Starts the local Step Functions endpoint on 127.0.0.1: the AWS JSON 1.0 protocol
 * (`X-Amz-Target: AWSStepFunctions.<Operation>`) that the real `@aws-sdk/client-sfn` speaks.
 */
export async function startStepFunctions(options: StepFunctionsOptions): Promise<StepFunctionsEmulator> {
  const engine = new StepFunctionsEngine({
    stateMachines: options.stateMachines,
    lambdas: options.lambdas,
    ...(options.sqsClient && { sqsClient: options.sqsClient }),
    ...(options.dynamoClient && { dynamoClient: options.dynamoClient }),
    ...(options.dataDir && { dataDir: options.dataDir }),
    ...(options.onExecutionEnd && { onExecutionEnd: options.onExecutionEnd }),
    ...(options.log && { log: options.log }),
    ...(options.lambdaTimeoutMs !== undefined && { lambdaTimeoutMs: options.lambdaTimeoutMs }),
    ...(options.validateDefinitions !== undefined && { validateDefinitions: options.validateDefinitions }),
  });
  await engine.init();

  const server = createServer((request, response) => {
    void (async () => {
      try {
        if (request.method !== 'POST')
          throw new SfnServiceError('UnknownOperationException', 'use POST', 405);
        const target = request.headers['x-amz-target'];
        const operationName =
          typeof target === 'string' && target.startsWith(TARGET_PREFIX)
            ? target.slice(TARGET_PREFIX.length)
            : '';
        const operation = Object.hasOwn(operations, operationName) ? operations[operationName] : undefined;
        if (!operation) {
          throw new SfnServiceError('UnknownOperationException', `Unsupported operation '${String(target)}'`);
        }
        const body = await readBody(request);
        send(response, 200, await operation(engine, body));
      } catch (error) {
        if (error instanceof SfnServiceError) {
          send(response, error.status, { __type: error.code, message: error.message }, error.code);
        } else {
          options.log?.('internal error', { error: String(error) });
          send(response, 500, { __type: 'InternalFailure', message: 'internal error' }, 'InternalFailure');
        }
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stateMachineArn: (name) => engine.stateMachineArn(name),
    engine,
    close() {
      closed ??= (async () => {
        await engine.close();
        await new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          // SDK clients keep connections alive; do not wait for their idle timeout.
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
