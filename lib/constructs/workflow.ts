import { readFileSync } from 'node:fs';
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { configureStateMachine, stateMachineObservability } from './state-machine-observability';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/** The placeholders of statemachines/pipeline.asl.json, each substituted by this construct. */
export const PIPELINE_PLACEHOLDERS = [
  'LlmQueueUrl',
  'SandboxFunctionArn',
  'SandboxOnlineFunctionArn',
  'SandboxSetupFunctionArn',
  'StageRunnerFunctionArn',
] as const;

/** The alias runs start through; each deployment points it at the version it publishes. */
export const PIPELINE_ALIAS = 'live';

/** `${Name}` placeholders used in an ASL document, sorted and deduplicated. */
export function placeholdersOf(definition: string): string[] {
  return [
    ...new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] ?? '')),
  ].sort();
}

/**
 * The shortest `TimeoutSeconds` of the synchronous stage-runner tasks (`lambda:invoke` of
 * `${StageRunnerFunctionArn}`) in an ASL document: the stage runner's Lambda timeout stays below it.
 */
export function shortestStageTaskSeconds(definition: string): number {
  let shortest = Number.POSITIVE_INFINITY;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const state = node as Record<string, unknown>;
    const target = (state.Parameters as { FunctionName?: unknown } | undefined)?.FunctionName;
    if (
      state.Resource === 'arn:aws:states:::lambda:invoke' &&
      target === '${StageRunnerFunctionArn}' &&
      typeof state.TimeoutSeconds === 'number'
    ) {
      shortest = Math.min(shortest, state.TimeoutSeconds);
    }
    for (const value of Object.values(state)) visit(value);
  };
  visit(JSON.parse(definition));
  if (!Number.isFinite(shortest)) throw new Error('the ASL has no stage-runner task with a TimeoutSeconds');
  return shortest;
}

/**
 * The pipeline's ARNs, known before the state machine exists. The stage runner must know the
 * state machine (STATE_MACHINE_ARN, and IAM on it), while the state machine must know the stage
 * runner (its definition and its role): referencing the resource both ways is a CloudFormation
 * cycle. A fixed state machine name lets every function's environment and policy use an ARN
 * built from stack, partition, region and account instead of a reference to the resource, at the
 * cost of one pipeline per stack name (the name embeds the stack name).
 */
export class PipelineArns {
  readonly stateMachineName: string;
  readonly stateMachineArn: string;
  /**
   * Where runs start: the `live` alias, pointing at the version the last deployment published.
   * IAM authorizes calls through it on the unqualified state machine ARN (AWS docs, "Authorization
   * for versions and aliases").
   */
  readonly liveAliasArn: string;
  /** Every execution of the pipeline: executions are named by run id, unknown at deploy time. */
  readonly executionArnPattern: string;

  constructor(scope: Construct) {
    const stack = Stack.of(scope);
    this.stateMachineName = `${stack.stackName}-Pipeline`;
    this.stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.liveAliasArn = `${this.stateMachineArn}:${PIPELINE_ALIAS}`;
    this.executionArnPattern = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}

export interface PipelineWorkflowProps {
  arns: PipelineArns;
  /** statemachines/pipeline.asl.json. */
  definitionPath: string;
  stageRunner: lambda.IFunction;
  /**
   * The sandbox functions: commands without network (`<Stage>Sandbox`), with network
   * (`<Stage>SandboxOnline`), and the setup (`<Stage>Setup`).
   */
  sandbox: { offline: lambda.IFunction; online: lambda.IFunction; setup: lambda.IFunction };
  /** Where each LLM turn is sent with its task token (`sqs:sendMessage.waitForTaskToken`). */
  llmQueue: sqs.IQueue;
  /** The stack's customer managed key, if any: execution data and the LLM queue use it. */
  encryptionKey?: kms.IKey;
  logRetentionDays: number;
}

/**
 * The pipeline state machine (Standard) from the ASL file, with `${StageRunnerFunctionArn}` and
 * `${LlmQueueUrl}` substituted, grants on exactly those two resources, every event logged
 * (without execution data: task tokens and payload pointers stay out of the logs) and X-Ray.
 */
export class PipelineWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The version this deployment published; the `live` alias points at it. */
  readonly version: sfn.CfnStateMachineVersion;
  readonly alias: sfn.CfnStateMachineAlias;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineWorkflowProps) {
    super(scope, id);
    const definition = readFileSync(props.definitionPath, 'utf8');
    const substitutions: Record<(typeof PIPELINE_PLACEHOLDERS)[number], string> = {
      StageRunnerFunctionArn: props.stageRunner.functionArn,
      LlmQueueUrl: props.llmQueue.queueUrl,
      SandboxFunctionArn: props.sandbox.offline.functionArn,
      SandboxOnlineFunctionArn: props.sandbox.online.functionArn,
      SandboxSetupFunctionArn: props.sandbox.setup.functionArn,
    };
    const used = placeholdersOf(definition).join(', ');
    if (used !== Object.keys(substitutions).sort().join(', ')) {
      throw new Error(
        `${props.definitionPath} uses the placeholders [${used}] but lib/constructs/workflow.ts substitutes [${Object.keys(substitutions).sort().join(', ')}]: update PIPELINE_PLACEHOLDERS and the grants together with the ASL`,
      );
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // The vendedlogs prefix keeps the CloudWatch Logs resource policy small (AWS guidance).
      logGroupName: `/aws/vendedlogs/states/${props.arns.stateMachineName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Code Factory pipeline state machine',
    });
    // Exactly the resources it calls: the stage runner (sync and callback invokes use its
    // unqualified ARN), the sandbox functions and the LLM queue (sendMessage.waitForTaskToken).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [
          props.stageRunner.functionArn,
          props.sandbox.offline.functionArn,
          props.sandbox.online.functionArn,
          props.sandbox.setup.functionArn,
        ],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.llmQueue.queueArn] }),
    );
    props.encryptionKey?.grant(this.role, 'kms:GenerateDataKey', 'kms:Decrypt');

    const observability = stateMachineObservability(this, this.role);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.arns.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(props.definitionPath),
      definitionSubstitutions: substitutions,
      role: this.role,
    });
    configureStateMachine(this.stateMachine, this.logGroup, observability, props.encryptionKey);

    // Each deployment publishes a version and points the alias at it; runs start on the alias,
    // and an execution keeps the version it started on, so runs in flight finish on the
    // definition they began with. Old versions are retained (docs/deploy.md, Upgrading).
    this.version = new sfn.CfnStateMachineVersion(this, 'Version', {
      stateMachineArn: this.stateMachine.stateMachineArn,
      stateMachineRevisionId: this.stateMachine.stateMachineRevisionId,
      description: 'Published by cdk deploy; runs start through the live alias',
    });
    this.version.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.alias = new sfn.CfnStateMachineAlias(this, 'LiveAlias', {
      name: PIPELINE_ALIAS,
      description: 'Where new runs start: the version of the latest deployment',
      routingConfiguration: [{ stateMachineVersionArn: this.version.attrArn, weight: 100 }],
    });
  }
}
