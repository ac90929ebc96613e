import { type CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface FactoryAlarmsProps {
  deadLetterQueue: sqs.IQueue;
  llmQueue: sqs.IQueue;
  stateMachine: sfn.IStateMachine;
  httpApi: apigwv2.IHttpApi;
  /** Every function, for the dashboard; the worker also gets an errors alarm. */
  functions: Record<string, lambda.IFunction>;
  llmWorker: lambda.IFunction;
  /** The LLM dead-letter consumer: its errors alarm too (a dead turn it cannot fail waits on). */
  llmDlq: lambda.IFunction;
  /** `alarmEmail` of the configuration: subscribed to the topic when set. */
  alarmEmail?: string;
  /** The stack's customer managed key, if any: the topic is encrypted with it. */
  encryptionKey?: kms.Key;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The operator's view: alarms on what needs a person (a dead-lettered model turn, failed or timed
 * out runs, API 5xx, LLM worker and dead-letter consumer errors) sent to one SNS topic, and a small
 * dashboard.
 */
export class FactoryAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: Record<
    | 'deadLetters'
    | 'executionsFailed'
    | 'executionsTimedOut'
    | 'api5xx'
    | 'workerErrors'
    | 'deadLetterConsumerErrors',
    cloudwatch.Alarm
  >;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: FactoryAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Code Factory alarms',
      enforceSSL: true,
      masterKey: props.encryptionKey,
    });
    if (props.encryptionKey) {
      // CloudWatch publishes to an encrypted topic only when the key lets it.
      props.encryptionKey.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
    } else {
      Validations.of(this.topic).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason:
          'With encryption "aws-managed" the topic cannot use the AWS managed SNS key: CloudWatch alarms cannot publish to a topic encrypted with it. Alarm messages carry only alarm names and states; choose encryption "customer-managed" to encrypt the topic with the stack key.',
      });
    }
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const stateMachineMetric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/States',
        metricName,
        dimensionsMap: { StateMachineArn: props.stateMachine.stateMachineArn },
        statistic: cloudwatch.Stats.SUM,
        period: FIVE_MINUTES,
      });
    const api5xx = new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: '5xx',
      dimensionsMap: { ApiId: props.httpApi.apiId },
      statistic: cloudwatch.Stats.SUM,
      period: FIVE_MINUTES,
    });

    const anyOf = (alarmId: string, metric: cloudwatch.IMetric, description: string) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
      return alarm;
    };
    this.alarms = {
      deadLetters: anyOf(
        'DeadLetters',
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: Duration.minutes(1),
        }),
        'A model turn reached the LLM dead-letter queue: its run was failed. Inspect the DLQ messages and the LLM worker logs.',
      ),
      executionsFailed: anyOf(
        'ExecutionsFailed',
        stateMachineMetric('ExecutionsFailed'),
        'A pipeline execution failed: a run ended FAILED (an error, a contract violation it could not fix, CI that kept failing). Runs that people or the contract decided (rejected, blocked, expired, cancelled) end their execution normally. Check the run error and the execution history.',
      ),
      executionsTimedOut: anyOf(
        'ExecutionsTimedOut',
        stateMachineMetric('ExecutionsTimedOut'),
        'A pipeline execution timed out. Inspect the execution history.',
      ),
      api5xx: anyOf(
        'Api5xx',
        api5xx,
        'The HTTP API answered 5xx. Inspect the access logs and function logs.',
      ),
      workerErrors: anyOf(
        'WorkerErrors',
        props.llmWorker.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
        'The LLM worker failed invocations (errors, timeouts). Inspect its logs.',
      ),
      deadLetterConsumerErrors: anyOf(
        'DeadLetterConsumerErrors',
        props.llmDlq.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
        'The LLM dead-letter consumer failed invocations: dead turns may not have failed their runs. Inspect its logs and the DLQ.',
      ),
    };

    const functions = Object.entries(props.functions);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.hours(6),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Pipeline executions',
            left: ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut'].map(
              stateMachineMetric,
            ),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'LLM queue and dead letters',
            left: [
              props.llmQueue.metricApproximateNumberOfMessagesVisible({ label: 'queued' }),
              props.llmQueue.metricApproximateAgeOfOldestMessage({ label: 'oldest (s)' }),
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead letters' }),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'HTTP API',
            left: ['Count', '4xx', '5xx'].map(
              (metricName) =>
                new cloudwatch.Metric({
                  namespace: 'AWS/ApiGateway',
                  metricName,
                  dimensionsMap: { ApiId: props.httpApi.apiId },
                  statistic: cloudwatch.Stats.SUM,
                  period: FIVE_MINUTES,
                }),
            ),
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors',
            left: functions.map(([name, fn]) => fn.metricErrors({ label: name, period: FIVE_MINUTES })),
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Function duration p99 (ms)',
            left: functions.map(([name, fn]) =>
              fn.metricDuration({ label: name, statistic: cloudwatch.Stats.p(99), period: FIVE_MINUTES }),
            ),
            width: 12,
          }),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: Object.values(this.alarms),
            width: 24,
          }),
        ],
      ],
    });
    // CloudFormation takes Tags on a dashboard (the template reference lists them); cfn-lint's
    // bundled schema predates that and reports E3002.
    (this.dashboard.node.defaultChild as CfnResource).addMetadata('cfn-lint', {
      config: { ignore_checks: ['E3002'] },
    });
  }
}
