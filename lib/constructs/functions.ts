import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { SenderIdentity } from './email';
import { FactoryFunction } from './node-function';
import type { LlmQueues } from './queues';
import type { FactorySecrets } from './secrets';
import type { PipelineArns } from './workflow';

export type FunctionName = 'webhook' | 'api' | 'approvals' | 'stages' | 'llmWorker' | 'llmDlq';
type SecretName = 'github' | 'webhookSecret' | 'anthropic' | 'approvalKey';
/**
 * Step Functions access: start (+ describe, to confirm a retried start), stop, and answer task
 * tokens (SendTaskSuccess, SendTaskFailure on the state machine).
 */
type StatesAccess = 'start' | 'stop' | 'taskSuccess' | 'taskFailure';

interface FunctionSpec {
  /** Folder under functions/ holding handler.ts. */
  dir: string;
  description: string;
  memorySize: number;
  table: 'none' | 'read' | 'readWrite';
  secrets: SecretName[];
  states: StatesAccess[];
  sendEmail: boolean;
  /** Reads and writes workspace snapshots in the workspaces bucket. */
  workspaces?: boolean;
  /** /tmp in MB: the stage runner unpacks repositories there. */
  ephemeralStorageMb?: number;
}

/**
 * What each function may do, read off its wiring.ts and app.ts: the whole least-privilege story
 * in one table. Timeouts are set below (two of them depend on the configuration and the ASL).
 */
export const FUNCTION_SPECS: Record<FunctionName, FunctionSpec> = {
  webhook: {
    dir: 'webhook',
    description: 'Code Factory GitHub webhook: verify, record, start or resume runs',
    // More memory is more CPU: the ack path must answer GitHub fast, cold starts included.
    memorySize: 512,
    table: 'readWrite',
    secrets: ['webhookSecret', 'github'],
    // Replies and CI results answer waits; a push to a PR awaiting approval fails its wait.
    states: ['start', 'stop', 'taskSuccess', 'taskFailure'],
    sendEmail: false,
  },
  api: {
    dir: 'api',
    description: 'Code Factory REST API (/v1)',
    memorySize: 512,
    table: 'readWrite',
    // GitHub: cancel closes the PR; the approval key also signs the API's pagination tokens.
    secrets: ['github', 'approvalKey'],
    states: ['start', 'stop'],
    sendEmail: false,
  },
  approvals: {
    dir: 'approvals',
    description: 'Code Factory approval links: confirmation page and decision',
    memorySize: 256,
    table: 'readWrite',
    secrets: ['approvalKey', 'github'],
    states: ['taskSuccess', 'taskFailure'],
    sendEmail: false,
  },
  stages: {
    dir: 'stages',
    description: 'Code Factory stage runner (invoked by the pipeline state machine)',
    // Boundary checks and publish handle whole diffs: give them room and CPU.
    memorySize: 1024,
    table: 'readWrite',
    secrets: ['github', 'approvalKey'],
    // checks answers its own wait when CI had already settled before the wait was stored.
    states: ['taskSuccess'],
    sendEmail: true,
    workspaces: true,
    // Room for a large repository unpacked while the container lives.
    ephemeralStorageMb: 4096,
  },
  llmWorker: {
    dir: 'llm-worker',
    description: 'Code Factory LLM worker (LLM queue consumer)',
    memorySize: 512,
    table: 'readWrite',
    secrets: ['anthropic'],
    states: ['taskSuccess', 'taskFailure'],
    sendEmail: false,
  },
  llmDlq: {
    dir: 'llm-dlq',
    description: 'Code Factory LLM dead letters: fail their task tokens, release their reservations',
    memorySize: 256,
    table: 'readWrite',
    secrets: [],
    states: ['taskFailure'],
    sendEmail: false,
  },
};

/** Lambda timeouts that are not derived from configuration. */
export const FIXED_TIMEOUTS = {
  // GitHub gives up on a delivery after 10 s.
  webhook: Duration.seconds(10),
  // The HTTP API's integration limit is 30 s.
  api: Duration.seconds(15),
  approvals: Duration.seconds(15),
} satisfies Partial<Record<FunctionName, Duration>>;

/** A function's handler file does not exist: synth stops with the files named. */
export class MissingHandlerError extends Error {
  override name = 'MissingHandlerError';
}

/** The absolute handler path of each function, or one error naming every missing file. */
export function handlerEntries(functionsDir: string): Record<FunctionName, string> {
  const entries = Object.fromEntries(
    Object.entries(FUNCTION_SPECS).map(([name, spec]) => [name, join(functionsDir, spec.dir, 'handler.ts')]),
  ) as Record<FunctionName, string>;
  const missing = Object.values(entries).filter((entry) => !existsSync(entry));
  if (missing.length > 0) {
    const names = missing.map((entry) => relative(process.cwd(), entry) || entry).join(', ');
    throw new MissingHandlerError(
      `Code Factory cannot synthesize: missing Lambda handler file(s) ${names}. Each function needs functions/<name>/handler.ts exporting \`handler\`; add the file (or restore it) and run synth again.`,
    );
  }
  return entries;
}

export interface FactoryFunctionsProps {
  /** Absolute path of the functions/ folder. */
  functionsDir: string;
  /** The environment contract (functions/shared/config.ts) except PUBLIC_BASE_URL, added later. */
  environment: Record<string, string>;
  logRetentionDays: number;
  table: dynamodb.ITable;
  /** GSI names of the table: queries are granted per index, not on `index/*`. */
  indexNames: readonly string[];
  queues: LlmQueues;
  secrets: FactorySecrets;
  encryptionKey?: kms.IKey;
  pipeline: PipelineArns;
  /** The workspaces bucket (snapshots). */
  workspaces: s3.IBucket;
  sender: SenderIdentity;
  /** The stage runner's timeout: longer than its longest state machine task. */
  stageRunnerTimeout: Duration;
}

/**
 * The six Lambda functions of Code Factory, each with exactly the access FUNCTION_SPECS lists,
 * the LLM worker on the LLM queue (partial batch failures, bounded concurrency) and the DLQ
 * handler on the DLQ.
 */
export class FactoryFunctions extends Construct {
  readonly functions: Record<FunctionName, FactoryFunction>;

  constructor(scope: Construct, id: string, props: FactoryFunctionsProps) {
    super(scope, id);
    const entries = handlerEntries(props.functionsDir);
    const timeouts: Record<FunctionName, Duration> = {
      ...FIXED_TIMEOUTS,
      stages: props.stageRunnerTimeout,
      llmWorker: Duration.seconds(props.queues.settings.worker.timeoutSeconds),
      llmDlq: Duration.seconds(props.queues.settings.deadLetter.handlerTimeoutSeconds),
    };

    const build = (name: FunctionName): FactoryFunction => {
      const spec = FUNCTION_SPECS[name];
      const fn = new FactoryFunction(this, name[0]?.toUpperCase() + name.slice(1), {
        entry: entries[name],
        description: spec.description,
        memorySize: spec.memorySize,
        timeout: timeouts[name],
        logRetentionDays: props.logRetentionDays,
        serviceName: spec.dir,
        environment: props.environment,
        ...(spec.ephemeralStorageMb ? { ephemeralStorageMb: spec.ephemeralStorageMb } : {}),
      });
      this.grantTable(fn, spec.table, props);
      if (spec.workspaces) this.grantWorkspaces(fn, props);
      for (const secretName of spec.secrets) {
        const secret = props.secrets[secretName];
        if (secret) this.grantSecret(fn, secret, props.encryptionKey);
      }
      this.grantStates(fn, spec.states, props.pipeline);
      if (spec.sendEmail) props.sender.grantSend(fn.role);
      return fn;
    };
    this.functions = {
      webhook: build('webhook'),
      api: build('api'),
      approvals: build('approvals'),
      stages: build('stages'),
      llmWorker: build('llmWorker'),
      llmDlq: build('llmDlq'),
    };

    const { worker, deadLetter } = props.queues.settings;
    this.functions.llmWorker.fn.addEventSource(
      new eventSources.SqsEventSource(props.queues.queue, {
        batchSize: worker.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: worker.maxConcurrency,
      }),
    );
    this.functions.llmDlq.fn.addEventSource(
      new eventSources.SqsEventSource(props.queues.deadLetterQueue, {
        batchSize: deadLetter.batchSize,
        maxConcurrency: deadLetter.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
  }

  private grantTable(fn: FactoryFunction, access: FunctionSpec['table'], props: FactoryFunctionsProps): void {
    if (access === 'none') return;
    const { tableArn } = props.table;
    const indexArns = props.indexNames.map((name) => `${tableArn}/index/${name}`);
    // Exactly the operations of the store slices (functions/shared/store/): no Scan, no batch or transaction APIs.
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [tableArn, ...indexArns],
      }),
    );
    if (access === 'readWrite') {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [tableArn],
        }),
      );
    }
    // Named actions only (CDK's grantEncryptDecrypt adds ReEncrypt* and GenerateDataKey*).
    props.encryptionKey?.grant(
      fn.role,
      ...(access === 'readWrite' ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt']),
      'kms:DescribeKey',
    );
  }

  /** Named actions on the bucket's objects only: no listing, no deleting (the lifecycle expires them). */
  private grantWorkspaces(fn: FactoryFunction, props: FactoryFunctionsProps): void {
    const policy = new iam.Policy(fn, 'WorkspacesPolicy', {
      roles: [fn.role],
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [props.workspaces.arnForObjects('*')],
        }),
      ],
    });
    fn.fn.node.addDependency(policy);
    props.encryptionKey?.grant(fn.role, 'kms:Decrypt', 'kms:GenerateDataKey');
    const stack = Stack.of(fn);
    const bucketId = stack.resolve(stack.getLogicalId(props.workspaces.node.defaultChild as CfnElement));
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
      reason: 'Objects are keyed by run id, minted at run time; the grant is limited to this bucket.',
    });
  }

  private grantSecret(fn: FactoryFunction, secret: { secretArn: string }, key: kms.IKey | undefined): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
    key?.grant(fn.role, 'kms:Decrypt');
  }

  private grantStates(fn: FactoryFunction, access: StatesAccess[], pipeline: PipelineArns): void {
    if (access.length === 0) return;
    const statements: iam.PolicyStatement[] = [];
    const onMachine: string[] = [];
    const onExecutions: string[] = [];
    if (access.includes('start')) {
      onMachine.push('states:StartExecution');
      onExecutions.push('states:DescribeExecution');
    }
    if (access.includes('stop')) onExecutions.push('states:StopExecution');
    // Task tokens are answered on the state machine that issued them.
    if (access.includes('taskSuccess')) onMachine.push('states:SendTaskSuccess');
    if (access.includes('taskFailure')) onMachine.push('states:SendTaskFailure');
    if (onMachine.length > 0) {
      statements.push(new iam.PolicyStatement({ actions: onMachine, resources: [pipeline.stateMachineArn] }));
    }
    if (onExecutions.length > 0) {
      statements.push(
        new iam.PolicyStatement({ actions: onExecutions, resources: [pipeline.executionArnPattern] }),
      );
    }
    // A policy of its own, so the one acknowledged wildcard (executions) cannot cover other grants.
    const policy = new iam.Policy(fn, 'WorkflowPolicy', { roles: [fn.role], statements });
    fn.fn.node.addDependency(policy);
    if (onExecutions.length > 0) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${pipeline.stateMachineName}:*]`,
        reason:
          'Executions are named by run id (a ULID minted at run time), so their ARNs are only known as a pattern; the pattern is limited to the pipeline state machine of this stack.',
      });
    }
  }
}
