import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SenderIdentity } from '../../lib/constructs/email';
import {
  FactoryFunctions,
  type FunctionName,
  handlerEntries,
  MissingHandlerError,
} from '../../lib/constructs/functions';
import { LlmQueues } from '../../lib/constructs/queues';
import { llmQueueSettings } from '../../lib/llm-queue-settings';
import { FactorySecrets } from '../../lib/constructs/secrets';
import { FactoryTable } from '../../lib/constructs/table';
import { PipelineArns } from '../../lib/constructs/workflow';
import { Workspaces } from '../../lib/constructs/workspaces';

// The six handlers are fixtures re-exporting one tiny module: bundling stays fast, while every
// property of the construct (sizes, environment, grants, event sources) is what production gets.
const fixtures = join(import.meta.dirname, 'fixtures/functions');

function functionsStack(customerKey: boolean) {
  const app = new App();
  const stack = new Stack(app, 'FunctionsTest');
  const encryptionKey = customerKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const table = new FactoryTable(stack, 'Store', { deletionProtection: true, encryptionKey });
  const queues = new LlmQueues(stack, 'Llm', {
    settings: llmQueueSettings({ workerTimeoutSeconds: 120, maxConcurrency: 7 }),
    encryptionKey,
  });
  const secrets = new FactorySecrets(stack, 'Secrets', {
    github: { mode: 'token' },
    anthropic: 'create',
    encryptionKey,
  });
  const functions = new FactoryFunctions(stack, 'Functions', {
    functionsDir: fixtures,
    environment: { TABLE_NAME: table.table.tableName },
    logRetentionDays: 14,
    table: table.table,
    indexNames: ['gsi1', 'gsi2', 'gsi3'],
    queues,
    secrets,
    encryptionKey,
    pipeline: new PipelineArns(stack),
    workspaces: new Workspaces(stack, 'Workspaces', { encryptionKey }).bucket,
    sender: new SenderIdentity(stack, 'Email', { from: 'factory@acme.io' }),
    stageRunnerTimeout: Duration.seconds(150),
  });
  return { app, stack, functions, template: Template.fromStack(stack) };
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const { app, stack, functions, template } = functionsStack(false);
const resources = template.toJSON().Resources as ReturnType<Template['findResources']>;
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

/** Every statement of every policy attached to the function's role, actions as arrays. */
function statementsOf(name: FunctionName): Statement[] {
  const roleId = logicalId(functions.functions[name].role);
  return Object.values(resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    )
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[])
    .map((s) => ({ ...s, Action: ([] as string[]).concat(s.Action) }));
}
const actionsOf = (name: FunctionName, prefix: string) =>
  statementsOf(name)
    .flatMap((s) => s.Action as string[])
    .filter((action) => action.startsWith(prefix))
    .sort();
const resourcesOf = (name: FunctionName, action: string) =>
  statementsOf(name)
    .filter((s) => (s.Action as string[]).includes(action))
    .map((s) => JSON.stringify(s.Resource));

describe('FactoryFunctions', () => {
  it('runs every function on nodejs22.x, ARM64, with its own log group and sizes for its job', () => {
    const expected: Record<FunctionName, [number, number]> = {
      webhook: [512, 10],
      api: [512, 15],
      approvals: [256, 15],
      stages: [1024, 150],
      llmWorker: [512, 120],
      llmDlq: [256, 10],
    };
    for (const [name, [memory, timeout]] of Object.entries(expected) as [FunctionName, [number, number]][]) {
      const props = resources[logicalId(functions.functions[name].fn)]?.Properties;
      expect(props, name).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        MemorySize: memory,
        Timeout: timeout,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: logicalId(functions.functions[name].logGroup) } },
      });
      expect(props.Environment.Variables.TABLE_NAME).toEqual({ Ref: expect.stringMatching(/^StoreTable/) });
    }
    template.resourceCountIs('AWS::Lambda::Function', 6);
    template.resourceCountIs('AWS::Logs::LogGroup', 6);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  it('feeds the LLM worker one message at a time with partial batch failures and the configured concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(functions.functions.llmWorker.fn) },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LlmQueue'), 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 7 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(functions.functions.llmDlq.fn) },
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LlmDeadLetterQueue'), 'Arn'] },
    });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    // SQS guidance for Lambda event sources: visibility ≥ 6 × the consumer's timeout.
    const queues = Object.values(resources).filter((r) => r.Type === 'AWS::SQS::Queue');
    const visibility = (pattern: RegExp) =>
      Object.entries(resources).find(([id, r]) => r.Type === 'AWS::SQS::Queue' && pattern.test(id))?.[1]
        .Properties.VisibilityTimeout;
    expect(queues).toHaveLength(2);
    expect(visibility(/^LlmQueue/)).toBeGreaterThanOrEqual(6 * 120);
    expect(visibility(/^LlmDeadLetterQueue/)).toBeGreaterThanOrEqual(6 * 10);
  });

  it('grants Step Functions access per function, nothing more', () => {
    expect(actionsOf('webhook', 'states:')).toEqual([
      'states:DescribeExecution',
      'states:SendTaskFailure',
      'states:SendTaskSuccess',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    expect(actionsOf('api', 'states:')).toEqual([
      'states:DescribeExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    expect(actionsOf('approvals', 'states:')).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    expect(actionsOf('stages', 'states:')).toEqual(['states:SendTaskSuccess']);
    expect(actionsOf('llmWorker', 'states:')).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    expect(actionsOf('llmDlq', 'states:')).toEqual(['states:SendTaskFailure']);

    // On the constructed ARNs of the named state machine: no reference to the resource (no cycle).
    const [machine] = resourcesOf('webhook', 'states:StartExecution');
    expect(machine).toContain(':stateMachine:FunctionsTest-Pipeline"');
    const [executions] = resourcesOf('webhook', 'states:StopExecution');
    expect(executions).toContain(':execution:FunctionsTest-Pipeline:*"');
    expect(resourcesOf('llmDlq', 'states:SendTaskFailure')).toEqual([machine]);
  });

  it('lets the stage runner alone get and put workspace objects, with room in /tmp', () => {
    for (const name of ['webhook', 'api', 'approvals', 'llmWorker', 'llmDlq'] as const)
      expect(actionsOf(name, 's3:'), name).toEqual([]);
    expect(actionsOf('stages', 's3:')).toEqual(['s3:GetObject', 's3:PutObject']);
    const [objects] = resourcesOf('stages', 's3:GetObject');
    expect(objects).toContain('/*');
    expect(
      resources[stack.getLogicalId(functions.functions.stages.fn.node.defaultChild as never)]?.Properties,
    ).toMatchObject({ EphemeralStorage: { Size: 4096 } });
  });

  it('grants table access on the table and its named indexes only', () => {
    for (const name of ['webhook', 'api', 'approvals', 'stages', 'llmWorker', 'llmDlq'] as const) {
      expect(actionsOf(name, 'dynamodb:'), name).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
    }
    const [readResources] = resourcesOf('stages', 'dynamodb:Query');
    for (const index of ['gsi1', 'gsi2', 'gsi3']) expect(readResources).toContain(`/index/${index}`);
    expect(readResources).not.toContain('index/*');
  });

  it('lets each function read only the secrets it uses', () => {
    const secretsRead = (name: FunctionName) =>
      resourcesOf(name, 'secretsmanager:GetSecretValue')
        .flatMap((r) => [...r.matchAll(/"Secrets(GitHub|WebhookSecret|Anthropic|ApprovalKey)[0-9A-F]{8}"/g)])
        .map((m) => m[1])
        .sort();
    expect(secretsRead('webhook')).toEqual(['GitHub', 'WebhookSecret']);
    expect(secretsRead('api')).toEqual(['ApprovalKey', 'GitHub']);
    expect(secretsRead('approvals')).toEqual(['ApprovalKey', 'GitHub']);
    expect(secretsRead('stages')).toEqual(['ApprovalKey', 'GitHub']);
    expect(secretsRead('llmWorker')).toEqual(['Anthropic']);
    expect(secretsRead('llmDlq')).toEqual([]);
    expect(new Set(actionsOf('webhook', 'secretsmanager:'))).toEqual(
      new Set(['secretsmanager:GetSecretValue']),
    );
  });

  it('lets only the stage runner send email, from the configured identity', () => {
    const senders = (['webhook', 'api', 'approvals', 'stages', 'llmWorker', 'llmDlq'] as const).filter(
      (name) => actionsOf(name, 'ses:').length > 0,
    );
    expect(senders).toEqual(['stages']);
    expect(resourcesOf('stages', 'ses:SendEmail')[0]).toContain(':identity/factory@acme.io');
  });

  it('uses no "*" action, and "*" resources only for X-Ray', () => {
    const all = (Object.keys(functions.functions) as FunctionName[]).flatMap(statementsOf);
    for (const statement of all) {
      for (const action of statement.Action as string[]) expect(action).not.toMatch(/\*/);
      if (statement.Resource === '*') {
        expect([...(statement.Action as string[])].sort()).toEqual([
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ]);
      }
    }
  });

  it('passes cdk-nag with AWS managed keys and with a customer managed key', () => {
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
    const cmk = functionsStack(true);
    expect(new AwsSolutionsChecks().validateScope(cmk.app).violations).toEqual([]);
    // Named KMS actions only, on the stack key.
    const kmsActions = Object.values(cmk.template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .flatMap((s) => ([] as string[]).concat(s.Action))
      .filter((action) => action.startsWith('kms:'));
    expect(new Set(kmsActions)).toEqual(
      new Set(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']),
    );
  }, 120_000);

  it('fails with the missing handler files named, and only when one is missing', () => {
    expect(() => handlerEntries(fixtures)).not.toThrow();
    expect(() => handlerEntries(join(fixtures, 'webhook'))).toThrow(MissingHandlerError);
    expect(() => handlerEntries(join(fixtures, 'webhook'))).toThrow(
      /missing Lambda handler file\(s\) .*webhook\/webhook\/handler\.ts.*webhook\/llm-dlq\/handler\.ts.*add the file/,
    );
  });
});
