import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PIPELINE_PLACEHOLDERS,
  PipelineArns,
  PipelineWorkflow,
  placeholdersOf,
  shortestStageTaskSeconds,
} from '../../lib/constructs/workflow';

const definitionPath = join(import.meta.dirname, '../../statemachines/pipeline.asl.json');
const definition = readFileSync(definitionPath, 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'factory-workflow-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function workflowStack(path = definitionPath, customerKey = false) {
  const app = new App();
  const stack = new Stack(app, 'WorkflowTest');
  const encryptionKey = customerKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const stageRunner = new lambda.Function(stack, 'StageRunner', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  });
  const bare = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    });
  const sandbox = { offline: bare('Sandbox'), online: bare('SandboxOnline'), setup: bare('SandboxSetup') };
  const llmQueue = new sqs.Queue(stack, 'LlmQueue', { encryptionMasterKey: encryptionKey });
  const arns = new PipelineArns(stack);
  const workflow = new PipelineWorkflow(stack, 'Workflow', {
    arns,
    definitionPath: path,
    stageRunner,
    sandbox,
    llmQueue,
    encryptionKey,
    logRetentionDays: 90,
  });
  return { app, stack, workflow, arns, stageRunner, sandbox, llmQueue, template: Template.fromStack(stack) };
}

const { app, stack, workflow, arns, stageRunner, sandbox, llmQueue, template } = workflowStack();
/** cdk-nag findings on this construct (the test's stand-in function and queue are not its concern). */
const workflowFindings = (scope: App) =>
  new AwsSolutionsChecks()
    .validateScope(scope)
    .violations.filter((v) => v.violatingResources.some((r) => r.constructPath?.includes('/Workflow/')))
    .map((v) => v.ruleName);
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('PipelineWorkflow', () => {
  it('substitutes exactly the placeholders the ASL file uses', () => {
    expect(placeholdersOf(definition)).toEqual([...PIPELINE_PLACEHOLDERS].sort());
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0]?.Properties;
    expect(Object.keys(machine.DefinitionSubstitutions).sort()).toEqual(placeholdersOf(definition));
    expect(machine.DefinitionSubstitutions).toEqual({
      StageRunnerFunctionArn: { 'Fn::GetAtt': [idOf(stageRunner), 'Arn'] },
      LlmQueueUrl: { Ref: idOf(llmQueue) },
      SandboxFunctionArn: { 'Fn::GetAtt': [idOf(sandbox.offline), 'Arn'] },
      SandboxOnlineFunctionArn: { 'Fn::GetAtt': [idOf(sandbox.online), 'Arn'] },
      SandboxSetupFunctionArn: { 'Fn::GetAtt': [idOf(sandbox.setup), 'Arn'] },
    });
    // The definition is the file itself, shipped as an asset.
    expect(machine.DefinitionS3Location).toBeDefined();
  });

  it('refuses an ASL whose placeholders differ from the substitutions', () => {
    const stray = join(scratch, 'stray.asl.json');
    // One of the three LlmQueueUrl placeholders renamed: the file now uses a third name.
    writeFileSync(stray, definition.replace('{LlmQueueUrl}', '{OtherQueueUrl}'));
    expect(() => workflowStack(stray)).toThrow(
      /uses the placeholders \[LlmQueueUrl, OtherQueueUrl, SandboxFunctionArn, SandboxOnlineFunctionArn, SandboxSetupFunctionArn, StageRunnerFunctionArn\] but .* substitutes \[LlmQueueUrl, SandboxFunctionArn, SandboxOnlineFunctionArn, SandboxSetupFunctionArn, StageRunnerFunctionArn\]/,
    );
  });

  it('is a Standard state machine with the fixed name every function builds its ARN from', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'WorkflowTest-Pipeline',
      StateMachineType: 'STANDARD',
    });
    expect(stack.resolve(arns.stateMachineArn)).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':states:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':stateMachine:WorkflowTest-Pipeline',
        ],
      ],
    });
    expect(JSON.stringify(stack.resolve(arns.executionArnPattern))).toMatch(
      /:execution:WorkflowTest-Pipeline:\*"/,
    );
  });

  it('publishes a retained version per deployment and points the live alias at it', () => {
    const versions = template.findResources('AWS::StepFunctions::StateMachineVersion');
    expect(Object.values(versions)).toHaveLength(1);
    const [versionId, version] = Object.entries(versions)[0] ?? [];
    // An execution keeps its version: a deployment must not delete the one runs in flight use.
    expect(version?.DeletionPolicy).toBe('Retain');
    expect(version?.UpdateReplacePolicy).toBe('Retain');
    expect(version?.Properties.StateMachineRevisionId).toEqual({
      'Fn::GetAtt': [idOf(workflow.stateMachine), 'StateMachineRevisionId'],
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachineAlias', {
      Name: 'live',
      RoutingConfiguration: [{ StateMachineVersionArn: { 'Fn::GetAtt': [versionId, 'Arn'] }, Weight: 100 }],
    });
    expect(arns.liveAliasArn).toContain(':live');
  });

  it('logs ALL events (without execution data) to its log group, and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [idOf(workflow.logGroup), 'Arn'] } } },
        ],
      },
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/states/WorkflowTest-Pipeline',
      RetentionInDays: 90,
    });
  });

  it('grants invoke on the stage runner and the sandbox functions and send on the LLM queue, explicitly', () => {
    const roleId = idOf(workflow.role);
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      );
    const scoped = statements.filter((s) => s.Resource !== '*');
    expect(scoped).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: [
          { 'Fn::GetAtt': [idOf(stageRunner), 'Arn'] },
          { 'Fn::GetAtt': [idOf(sandbox.offline), 'Arn'] },
          { 'Fn::GetAtt': [idOf(sandbox.online), 'Arn'] },
          { 'Fn::GetAtt': [idOf(sandbox.setup), 'Arn'] },
        ],
      }),
      expect.objectContaining({
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [idOf(llmQueue), 'Arn'] },
      }),
    ]);
    // The "*" statements are log delivery and X-Ray only, in their own policy.
    const wildcardActions = statements
      .filter((s) => s.Resource === '*')
      .flatMap((s) => ([] as string[]).concat(s.Action));
    for (const action of wildcardActions) expect(action).toMatch(/^(logs:[A-Za-z]+|xray:[A-Za-z]+)$/);
    template.hasResource('AWS::StepFunctions::StateMachine', {
      DependsOn: Match.arrayWith([
        stack.getLogicalId(workflow.node.findChild('ObservabilityPolicy').node.defaultChild as never),
      ]),
    });
  });

  it('may use the LLM queue key when the queue has one', () => {
    const cmk = workflowStack(definitionPath, true);
    const actions = Object.values(cmk.template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
      .flatMap((s) => ([] as string[]).concat(s.Action));
    expect(actions).toEqual(expect.arrayContaining(['kms:GenerateDataKey', 'kms:Decrypt']));
    expect(workflowFindings(cmk.app)).toEqual([]);
    // Execution data (task parameters, so task tokens too) is encrypted with the stack's key.
    cmk.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      EncryptionConfiguration: { Type: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: Match.anyValue() },
    });
    const plain = workflowStack(definitionPath, false);
    const [machine] = Object.values(plain.template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machine?.Properties.EncryptionConfiguration).toBeUndefined();
  });

  it('finds the shortest lambda:invoke task of the stage runner in the ASL (its Lambda timeout stays below)', () => {
    expect(shortestStageTaskSeconds(definition)).toBe(120);
    const invoke = (target: string, seconds: number, next: string) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: target },
      TimeoutSeconds: seconds,
      Next: next,
    });
    const tiny = JSON.stringify({
      StartAt: 'A',
      States: {
        A: invoke('${StageRunnerFunctionArn}', 300, 'C'),
        C: invoke('${StageRunnerFunctionArn}', 30, 'S'),
        // The sandbox function's task does not size the stage runner.
        S: invoke('${SandboxFunctionArn}', 20, 'B'),
        B: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          TimeoutSeconds: 999,
          End: true,
        },
      },
    });
    expect(shortestStageTaskSeconds(tiny)).toBe(30);
  });

  it('passes cdk-nag (SF1 logging, SF2 tracing) with only the log delivery and X-Ray wildcards acknowledged', () => {
    expect(workflowFindings(app)).toEqual([]);
    // Control: the test's own bare queue and function are flagged, so the checks did run.
    expect(new AwsSolutionsChecks().validateScope(app).violations.length).toBeGreaterThan(0);
  });
});
