import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { TaskError, UncatchableTaskError } from './errors';

/** A local Lambda: the same handler function the AWS deployment runs. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface IntegrationClients {
  /** Keyed by function ARN (a plain function name also matches). */
  lambdas: Record<string, LambdaHandler>;
  sqsClient?: SQSClient;
  dynamoClient?: DynamoDBClient;
  /** Lambda's own timeout for `getRemainingTimeInMillis` (default 900 s, Lambda's maximum). */
  lambdaTimeoutMs?: number;
}

/** A Task `Resource` this engine can run, as the history names it. */
export interface BoundResource {
  resourceType: 'lambda' | 'sqs' | 'dynamodb';
  /** e.g. `invoke`, `sendMessage.waitForTaskToken`, `putItem`. */
  resource: string;
  action: string;
  callback: boolean;
}

const DYNAMODB_COMMANDS = {
  putItem: PutItemCommand,
  updateItem: UpdateItemCommand,
  getItem: GetItemCommand,
  deleteItem: DeleteItemCommand,
};
type DynamoAction = keyof typeof DYNAMODB_COMMANDS;

const RESOURCE_PATTERN = /^arn:aws:states:::(lambda|sqs|dynamodb):([A-Za-z]+)(\.waitForTaskToken)?$/;

/** Binds a Task's Resource to a local integration, or undefined when this engine cannot run it. */
export function bindResource(resourceArn: string): BoundResource | undefined {
  const match = RESOURCE_PATTERN.exec(resourceArn);
  if (!match) return undefined;
  const [, service, action, waitSuffix] = match as unknown as [
    string,
    BoundResource['resourceType'],
    string,
    string?,
  ];
  const callback = waitSuffix !== undefined;
  const supported =
    (service === 'lambda' && action === 'invoke') ||
    (service === 'sqs' && action === 'sendMessage') ||
    (service === 'dynamodb' && !callback && Object.hasOwn(DYNAMODB_COMMANDS, action));
  if (!supported) return undefined;
  return { resourceType: service, resource: `${action}${waitSuffix ?? ''}`, action, callback };
}

export interface InvokeOptions {
  /** Epoch ms when the Task times out (for the Lambda context's remaining time). */
  deadline?: number;
}

/** Runs one integration call with the Task's effective Parameters; throws TaskError on failure. */
export async function invokeIntegration(
  bound: BoundResource,
  parameters: unknown,
  clients: IntegrationClients,
  options: InvokeOptions = {},
): Promise<unknown> {
  if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new TaskError(
      'States.Runtime',
      `${bound.resourceType}:${bound.resource} needs an object of Parameters, got ${JSON.stringify(parameters)}`,
    );
  }
  const params = parameters as Record<string, unknown>;
  switch (bound.resourceType) {
    case 'lambda':
      return invokeLambda(params, clients, options);
    case 'sqs':
      return sendMessage(params, clients);
    case 'dynamodb':
      return callDynamo(bound.action as DynamoAction, params, clients);
  }
}

// ---------------------------------------------------------------------------------------------
// lambda:invoke — result shaped like the optimized integration's
// ---------------------------------------------------------------------------------------------
function findLambda(
  functionName: string,
  lambdas: Record<string, LambdaHandler>,
): { arn: string; handler: LambdaHandler } | undefined {
  const wanted = functionNameOf(functionName);
  const arn = Object.hasOwn(lambdas, functionName)
    ? functionName
    : Object.keys(lambdas).find((candidate) => functionNameOf(candidate) === wanted);
  const handler = arn === undefined ? undefined : lambdas[arn];
  return arn && handler ? { arn, handler } : undefined;
}

/** `arn:aws:lambda:r:a:function:name[:qualifier]` or `name[:qualifier]` → `name`. */
function functionNameOf(nameOrArn: string): string {
  const parts = nameOrArn.split(':');
  if (parts[0] === 'arn') return parts[6] ?? nameOrArn;
  return parts[0] ?? nameOrArn;
}

export function lambdaContext(functionArn: string, deadline: number): Context {
  const functionName = functionNameOf(functionArn);
  const unsupported = () => {
    throw new Error('callback-style Lambda context methods are not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

async function invokeLambda(
  params: Record<string, unknown>,
  clients: IntegrationClients,
  options: InvokeOptions,
): Promise<unknown> {
  const functionName = params.FunctionName;
  if (typeof functionName !== 'string') {
    throw new TaskError('States.Runtime', 'lambda:invoke needs Parameters.FunctionName (a string)');
  }
  const found = findLambda(functionName, clients.lambdas);
  if (!found) {
    throw new TaskError(
      'Lambda.ResourceNotFoundException',
      `Function not found: ${functionName} (no local handler is registered for it)`,
    );
  }
  const lambdaDeadline = Date.now() + (clients.lambdaTimeoutMs ?? 900_000);
  const deadline = Math.min(lambdaDeadline, options.deadline ?? lambdaDeadline);
  // The event crosses a JSON boundary on AWS: the handler never shares objects with the engine.
  const event = params.Payload === undefined ? {} : JSON.parse(JSON.stringify(params.Payload));
  let payload: unknown;
  try {
    payload = await found.handler(event, lambdaContext(found.arn, deadline));
  } catch (error) {
    throw lambdaFunctionError(error);
  }
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload === undefined ? null : JSON.parse(JSON.stringify(payload)),
    SdkHttpMetadata: { HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: randomUUID() },
    StatusCode: 200,
  };
}

/** As on AWS: Error = the errorType, Cause = the JSON error document Lambda returns. */
function lambdaFunctionError(error: unknown): TaskError {
  const errorType = error instanceof Error && error.name ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  const trace = error instanceof Error && error.stack ? error.stack.split('\n') : [];
  return new TaskError(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}

// ---------------------------------------------------------------------------------------------
// sqs:sendMessage
// ---------------------------------------------------------------------------------------------
async function sendMessage(params: Record<string, unknown>, clients: IntegrationClients): Promise<unknown> {
  if (!clients.sqsClient) {
    throw new UncatchableTaskError(
      'States.Runtime',
      'sqs:sendMessage needs an SQS client; none was configured',
    );
  }
  const { MessageBody, ...rest } = params;
  if (typeof rest.QueueUrl !== 'string') {
    throw new TaskError('States.Runtime', 'sqs:sendMessage needs Parameters.QueueUrl (a string)');
  }
  const input = {
    ...rest,
    MessageBody: typeof MessageBody === 'string' ? MessageBody : JSON.stringify(MessageBody ?? null),
  } as SendMessageCommandInput;
  try {
    const { $metadata, ...output } = await clients.sqsClient.send(new SendMessageCommand(input));
    return { ...output, SdkHttpMetadata: { HttpStatusCode: $metadata.httpStatusCode ?? 200 } };
  } catch (error) {
    throw serviceError('SQS', error);
  }
}

// ---------------------------------------------------------------------------------------------
// dynamodb:putItem|updateItem|getItem|deleteItem (low-level attribute values, as on AWS)
// ---------------------------------------------------------------------------------------------
async function callDynamo(
  action: DynamoAction,
  params: Record<string, unknown>,
  clients: IntegrationClients,
): Promise<unknown> {
  const client = clients.dynamoClient;
  if (!client) {
    throw new UncatchableTaskError(
      'States.Runtime',
      `dynamodb:${action} needs a DynamoDB client; none was configured`,
    );
  }
  // Typed as one of them: all four take and return the low-level attribute-value shapes.
  const Command = DYNAMODB_COMMANDS[action] as typeof GetItemCommand;
  try {
    const { $metadata: _metadata, ...output } = await client.send(
      new Command(params as unknown as GetItemCommandInput),
    );
    return output;
  } catch (error) {
    throw serviceError('DynamoDB', error);
  }
}

/** `DynamoDB.ConditionalCheckFailedException`, `SQS.QueueDoesNotExist`, ... as Step Functions names them. */
function serviceError(service: string, error: unknown): TaskError {
  const name = error instanceof Error && error.name ? error.name : 'Exception';
  const message = error instanceof Error ? error.message : String(error);
  return new TaskError(`${service}.${name}`, `${message} (Service: ${service})`);
}
