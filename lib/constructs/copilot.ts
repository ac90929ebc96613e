import { readFileSync } from 'node:fs';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { configureStateMachine, stateMachineObservability } from './state-machine-observability';
import { FactoryFunction } from './node-function';
import { placeholdersOf } from './workflow';

/** The placeholders of statemachines/ask.asl.json, each substituted by this construct. */
export const ASK_PLACEHOLDERS = ['CopilotFunctionArn', 'LlmQueueUrl'] as const;

/** The partitions the copilot writes: its asks and their conversations (functions/shared/store/keys.ts). */
export const COPILOT_WRITABLE_KEYS = ['ASK#*', 'CONV#ask-*'];

export interface CopilotProps {
  /** functions/copilot/handler.ts. */
  entry: string;
  /** statemachines/ask.asl.json. */
  definitionPath: string;
  environment: Record<string, string>;
  logRetentionDays: number;
  table: dynamodb.ITable;
  indexNames: readonly string[];
  llmQueue: sqs.IQueue;
  encryptionKey?: kms.IKey;
  /** Starts asks (POST /v1/asks). */
  api: FactoryFunction;
  /** Answers the asks' model turns (SendTaskSuccess/Failure on this state machine). */
  llmWorker: FactoryFunction;
  /** Fails the task tokens of dead-lettered turns. */
  llmDlq: FactoryFunction;
}

/**
 * The copilot (issue 21): its function, which only reads runs and writes its own asks and
 * conversations (DynamoDB LeadingKeys), and its state machine (statemachines/ask.ts, Standard:
 * each turn waits on a task token), started by the API and answered by the LLM worker.
 */
export class Copilot extends Construct {
  readonly function: FactoryFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CopilotProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stateMachineName = `${stack.stackName}-Ask`;
    const stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionArnPattern = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.function = new FactoryFunction(this, 'Function', {
      entry: props.entry,
      description: 'Code Factory copilot: answers questions about runs with read-only tools',
      memorySize: 512,
      timeout: Duration.seconds(50),
      logRetentionDays: props.logRetentionDays,
      serviceName: 'copilot',
      environment: props.environment,
    });
    const { tableArn } = props.table;
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [tableArn, ...props.indexNames.map((name) => `${tableArn}/index/${name}`)],
      }),
    );
    // Writes only to its own items: the copilot cannot touch a run, a wait or an approval.
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': COPILOT_WRITABLE_KEYS } },
      }),
    );
    props.encryptionKey?.grant(
      this.function.role,
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:DescribeKey',
    );

    const definition = readFileSync(props.definitionPath, 'utf8');
    const substitutions: Record<(typeof ASK_PLACEHOLDERS)[number], string> = {
      CopilotFunctionArn: this.function.fn.functionArn,
      LlmQueueUrl: props.llmQueue.queueUrl,
    };
    const used = placeholdersOf(definition).join(', ');
    if (used !== [...ASK_PLACEHOLDERS].sort().join(', '))
      throw new Error(
        `${props.definitionPath} uses the placeholders [${used}], not [${ASK_PLACEHOLDERS.join(', ')}]`,
      );

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${stateMachineName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Code Factory copilot state machine',
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.function.fn.functionArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.llmQueue.queueArn] }),
    );
    props.encryptionKey?.grant(this.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    const observability = stateMachineObservability(this, this.role);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(props.definitionPath),
      definitionSubstitutions: substitutions,
      role: this.role,
    });
    configureStateMachine(this.stateMachine, this.logGroup, observability, props.encryptionKey);

    // The API starts asks (and describes one on a retried start); the worker and the dead-letter
    // consumer answer their task tokens. Each in a policy of its own.
    const grant = (fn: FactoryFunction, name: string, onMachine: string[], onExecutions: string[]) => {
      const statements = [new iam.PolicyStatement({ actions: onMachine, resources: [stateMachineArn] })];
      if (onExecutions.length > 0)
        statements.push(new iam.PolicyStatement({ actions: onExecutions, resources: [executionArnPattern] }));
      const policy = new iam.Policy(fn, name, { roles: [fn.role], statements });
      fn.fn.node.addDependency(policy);
      if (onExecutions.length > 0)
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineName}:*]`,
          reason:
            'Executions are named by ask id (a ULID minted at run time); the pattern is limited to the copilot state machine.',
        });
    };
    grant(props.api, 'AskStartPolicy', ['states:StartExecution'], ['states:DescribeExecution']);
    grant(props.llmWorker, 'AskTaskPolicy', ['states:SendTaskSuccess', 'states:SendTaskFailure'], []);
    grant(props.llmDlq, 'AskTaskPolicy', ['states:SendTaskFailure'], []);
    props.api.fn.addEnvironment('ASK_STATE_MACHINE_ARN', stateMachineArn);
  }
}
